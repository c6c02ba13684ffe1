import type { FastifyReply } from 'fastify';
import type { LinkClaims, LinkSigner, LinkVerdict } from '../../integrations/email/links';
import { escapeHtml } from '../../integrations/email/templates';
import { page } from './pages';

/** What a person is told of a link refused for each reason; each kind of link words it its way. */
export type LinkRefusals = Record<Extract<LinkVerdict, { ok: false }>['reason'], string>;

/**
 * The claims of a signed link of the given kind (undefined: a request decision), or undefined
 * after answering with a page that says why the link was refused. A token that did not even
 * parse from the form or query counts as a damaged link.
 */
export async function linkClaims(
  reply: FastifyReply,
  links: LinkSigner,
  token: string | undefined,
  kind: LinkClaims['kind'],
  refusals: LinkRefusals,
): Promise<LinkClaims | undefined> {
  const verdict = token === undefined ? undefined : links.verify(token);
  if (verdict?.ok && verdict.claims.kind === kind) return verdict.claims;
  const reason = verdict && !verdict.ok ? verdict.reason : 'malformed';
  await page(reply, 400, 'Link not valid', `<p>${escapeHtml(refusals[reason])}</p>`);
  return undefined;
}
