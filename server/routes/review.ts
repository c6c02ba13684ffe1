import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_ITEMS, MAX_SEQ } from '../../domain/campaign';
import type { Decision } from '../../domain/campaign';
import type { ReviewLinkClaims, ReviewLinkSigner } from '../../integrations/email/review-links';
import { escapeHtml } from '../../integrations/email/templates';
import type { ReviewItemRow } from '../../store/campaigns';
import type { Deps } from '../app';
import { page } from './pages';
import { CampaignService } from '../campaigns';
import { HttpError } from '../errors';

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
  'td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;font-size:14px}.done{color:#666}';

const reviewPage = (reply: FastifyReply, status: number, title: string, body: string) =>
  page(reply, status, title, body, STYLE);

const when = (date: Date | null) =>
  date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'unknown';
const obtained = (item: ReviewItemRow) =>
  item.source === 'grant' ? 'keyward grant' : 'standing membership';

function row(item: ReviewItemRow): string {
  const cells = [item.identity, item.entitlement_id, item.system_id, item.risk_tier, obtained(item)]
    .map((text) => `<td>${escapeHtml(text)}</td>`)
    .join('');
  const last = `<td>${escapeHtml(when(item.last_granted_at))}</td>`;
  if (item.decision) {
    const by = item.decided_by ? ` by ${escapeHtml(item.decided_by)}` : '';
    const decided = `<td>${escapeHtml(item.decision)}${by}</td>`;
    return `<tr class="done"><td></td><td>${item.seq}</td>${cells}${last}${decided}<td></td></tr>`;
  }
  return (
    `<tr data-item="${item.seq}">` +
    `<td><input type="checkbox" name="item" value="${item.seq}" aria-label="select item ${item.seq}"></td>` +
    `<td>${item.seq}</td>${cells}${last}<td>pending</td>` +
    `<td><input type="text" name="reason-${item.seq}" placeholder="reason to revoke" maxlength="2000"></td></tr>`
  );
}

/**
 * The review page a reviewer reaches by the signed link in their Slack message or email. It is plain
 * HTML with forms: GET shows the items, POST decides or delegates and shows the page again.
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

  async function show(
    reply: FastifyReply,
    token: string,
    claims: ReviewLinkClaims,
    filter: string,
    notice = '',
    status = 200,
  ) {
    const { campaign, items } = await campaigns.itemsFor(claims.reviewer, claims.campaignId);
    // Filtering happens here rather than in the browser, so the page works with scripts off.
    const needle = filter.toLowerCase();
    const shown = items.filter((item) =>
      [
        item.identity,
        item.entitlement_id,
        item.system_id,
        item.risk_tier,
        item.decision ?? 'pending',
      ].some((text) => text.toLowerCase().includes(needle)),
    );
    const pending = items.filter((item) => !item.decision).length;
    const deadline = when(campaign.deadlineAt ? new Date(campaign.deadlineAt) : null);
    const hidden = `<input type="hidden" name="token" value="${escapeHtml(token)}">`;
    const body =
      (notice ? `<p role="status"><b>${escapeHtml(notice)}</b></p>` : '') +
      `<p>Reviewer: <b>${escapeHtml(claims.reviewer)}</b>. Deadline: ${escapeHtml(deadline)}. ` +
      `${pending} of ${items.length} items pending.</p>` +
      `<form method="get" action="/review">${hidden}` +
      `<label>Filter <input type="search" name="filter" value="${escapeHtml(filter)}"></label> ` +
      '<button type="submit">Filter</button></form>' +
      `<form method="post" action="/review">${hidden}` +
      `<input type="hidden" name="filter" value="${escapeHtml(filter)}">` +
      '<table><thead><tr><th></th><th>Item</th><th>Identity</th><th>Entitlement</th><th>System</th><th>Risk</th>' +
      '<th>Obtained</th><th>Last granted</th><th>Decision</th><th>Reason</th></tr></thead>' +
      `<tbody>${shown.map(row).join('')}</tbody></table>` +
      '<p><button type="submit" name="action" value="certify">Certify selected</button> ' +
      '<button type="submit" name="action" value="revoke">Revoke selected</button> ' +
      '<label>or delegate selected to <input type="text" name="to" size="12"></label> ' +
      '<button type="submit" name="action" value="delegate">Delegate</button></p></form>' +
      '<p>Revoking needs a reason in the row. Last use is not known to keyward; the last grant is shown.</p>';
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
      return show(reply, String(query.token), claims, filter);
    });

    app.post('/review', async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const token = form.get('token') ?? '';
      const claims = await claimsOf(reply, token);
      if (!claims) return reply;
      const filter = (form.get('filter') ?? '').slice(0, 100);
      const notice = (text: string, status = 400) =>
        show(reply, token, claims, filter, text, status);
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
          return notice(`${seqs.length} items delegated to ${to}.`, 200);
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
          `${seqs.length} items ${decision === 'certify' ? 'certified' : 'revoked'}.`,
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
