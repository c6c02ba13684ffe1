import type { FastifyInstance, FastifyReply } from 'fastify';
import { escapeHtml } from '../../integrations/email/templates';

const PLAIN = 'body{font-family:sans-serif;max-width:640px;margin:2em auto}';

/**
 * A page for someone who followed a signed link. The token rides in the URL: it must not leave
 * in a Referer header or sit in a cache, and the page is never framed by another site.
 */
export function page(
  reply: FastifyReply,
  status: number,
  title: string,
  body: string,
  style = PLAIN,
) {
  return reply
    .status(status)
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    )
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<style>${style}</style></head><body><h2>${escapeHtml(title)}</h2>${body}</body></html>`,
    );
}

/** The confirmation pages post plain HTML forms; each plugin scope needs its own parser. */
export function acceptHtmlForms(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
}
