import { countOf } from '../../domain/text';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_ITEMS, MAX_SEQ } from '../../domain/campaign';
import type { Decision } from '../../domain/campaign';
import type { ReviewLinkClaims, ReviewLinkSigner } from '../../integrations/email/review-links';
import { escapeHtml } from '../../integrations/email/templates';
import type { Deps } from '../app';
import { page } from './pages';
import { pageCount, pageNumber, PAGE_SIZE, reviewBody } from './review-view';
import { CampaignService } from '../campaigns';
import { HttpError } from '../errors';

const itemsText = (n: number) => countOf(n, 'item');

const REFUSED: Record<string, string> = {
  malformed:
    'This link is incomplete or damaged. Open it again from the email or the Slack message.',
  'bad-signature':
    'This link was not issued by this keyward, or it was altered. Nothing was shown or decided.',
  expired: "This link has expired with its campaign's deadline. Nothing was decided.",
};

const Token = z.object({ token: z.string().max(2_000) });

// The item numbers a form may carry, bounded like the API's before they reach SQL.
const Seqs = z.array(z.coerce.number().int().min(1).max(MAX_SEQ)).max(MAX_ITEMS);

const STYLE =
  'body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;width:100%}' +
  'td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;font-size:14px}.done{color:#666}' +
  'nav a{margin-left:.6em}';

const reviewPage = (reply: FastifyReply, status: number, title: string, body: string) =>
  page(reply, status, title, body, STYLE);

/**
 * The review page a reviewer reaches by the signed link in their Slack message or email. It is plain
 * HTML with forms and links: GET shows a page of the items, POST decides or delegates and shows
 * that page again.
 */
export function reviewRoutes(deps: Deps, links: ReviewLinkSigner) {
  const campaigns = new CampaignService(deps);

  async function claimsOf(
    reply: FastifyReply,
    token: unknown,
  ): Promise<ReviewLinkClaims | undefined> {
    const parsed = Token.safeParse({ token });
    const verdict = parsed.success
      ? links.verify(parsed.data.token)
      : ({ ok: false, reason: 'malformed' } as const);
    // A link outlives nothing in the policy: a reviewer taken out of it decides nothing with it.
    if (verdict.ok && deps.policy().identity(verdict.claims.reviewer)?.kind === 'human')
      return verdict.claims;
    if (verdict.ok) {
      await reviewPage(
        reply,
        403,
        'Link not valid',
        '<p>This link belongs to someone who no longer reviews access.</p>',
      );
      return undefined;
    }
    await page(
      reply,
      verdict.reason === 'bad-signature' ? 403 : 400,
      'Link not valid',
      `<p>${escapeHtml(REFUSED[verdict.reason])}</p>`,
    );
    return undefined;
  }

  /** Shows a page of the reviewer's items; one past the end (fewer match now) shows the last. */
  async function show(
    reply: FastifyReply,
    token: string,
    claims: ReviewLinkClaims,
    where: { filter: string; page: number },
    notice = '',
    status = 200,
  ) {
    const { filter } = where;
    // Filtering and paging happen in the database rather than the browser: the page works with
    // scripts off, and a reviewer with a hundred thousand items gets them all, a page at a time.
    const list = (number: number) =>
      campaigns.itemsFor(claims.reviewer, claims.campaignId, {
        filter,
        offset: (number - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
      });
    let shown = await list(where.page);
    const last = pageCount(shown.counts.matching);
    if (where.page > last) shown = await list(last);
    const { campaign, items, counts } = shown;
    const body = reviewBody({
      token,
      reviewer: claims.reviewer,
      campaign,
      items,
      counts,
      filter,
      page: Math.min(where.page, last),
      notice,
    });
    return reviewPage(reply, status, `Access review: ${campaign.name}`, body);
  }

  return async (app: FastifyInstance) => {
    // Checkboxes repeat their name, so the review form keeps every value, not the last one.
    if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_req, body, done) => done(null, new URLSearchParams(body as string)),
      );
    }
    // People reach these pages in a browser: whatever goes wrong, they get a page, never JSON.
    app.setErrorHandler((err, request, reply) => errorPage(err, request, reply));

    app.get('/review', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const claims = await claimsOf(reply, query.token);
      if (!claims) return reply;
      const filter = typeof query.filter === 'string' ? query.filter.slice(0, 100) : '';
      return show(reply, String(query.token), claims, { filter, page: pageNumber(query.page) });
    });

    app.post('/review', async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const token = form.get('token') ?? '';
      const claims = await claimsOf(reply, token);
      if (!claims) return reply;
      // The answer shows the page the form was posted from, still filtered as it was.
      const where = {
        filter: (form.get('filter') ?? '').slice(0, 100),
        page: pageNumber(form.get('page')),
      };
      const notice = (text: string, status = 400) =>
        show(reply, token, claims, where, text, status);
      // The reviewer is the link's, never a form field: a post acts only as the person it was sent to.
      const parsed = Seqs.safeParse(form.getAll('item'));
      if (!parsed.success)
        return notice(`Select items by their numbers, at most ${MAX_ITEMS} at a time.`);
      const seqs = parsed.data;
      const action = form.get('action');
      if (seqs.length === 0) return notice('Select at least one item.');
      try {
        if (action === 'delegate') {
          const to = (form.get('to') ?? '').trim();
          await campaigns.delegate(claims.reviewer, claims.campaignId, seqs, to);
          return notice(`${itemsText(seqs.length)} delegated to ${to}.`, 200);
        }
        const decision: Decision | undefined =
          action === 'certify' || action === 'revoke' ? action : undefined;
        if (!decision) return notice('Choose an action.');
        const decisions = seqs.map((seq) => ({
          seq,
          decision,
          reason: form.get(`reason-${seq}`)?.trim() || undefined,
        }));
        if (action === 'revoke' && decisions.some((d) => !d.reason))
          return notice('Each revocation needs a reason.');
        await campaigns.decide(claims.reviewer, claims.campaignId, decisions, 'review-page');
        return notice(
          `${itemsText(seqs.length)} ${decision === 'certify' ? 'certified' : 'revoked'}.`,
          200,
        );
      } catch (err) {
        // A request applied in part says so itself: which items were recorded and which were not.
        if (err instanceof HttpError && err.details) return notice(err.message, err.statusCode);
        if (err instanceof HttpError && err.statusCode < 500)
          return notice(`Not recorded: ${err.message}`, err.statusCode);
        throw err;
      }
    });
  };
}

/**
 * The page for an error: a refusal of ours shows its message, which is written for people; anything
 * else shows a plain sentence, and its details go to the log only.
 */
function errorPage(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const status =
    err instanceof HttpError
      ? err.statusCode
      : ((err as { statusCode?: number }).statusCode ?? 500);
  if (status >= 400 && status < 500) {
    const message = err instanceof HttpError ? err.message : 'This request could not be read.';
    return reviewPage(reply, status, 'Not possible', `<p>${escapeHtml(message)}</p>`);
  }
  request.log.error({ err }, 'review page failed');
  const body =
    "<p>Something went wrong on keyward's side. Open the link again to see what was recorded; " +
    'if this happens again, tell your keyward administrators.</p>';
  return reviewPage(reply, status >= 500 ? status : 500, 'Something went wrong', body);
}
