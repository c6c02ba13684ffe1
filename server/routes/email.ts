import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { formatDuration } from '../../domain/duration';
import type { LinkSigner } from '../../integrations/email/links';
import { escapeHtml } from '../../integrations/email/templates';
import { emailLinkUsed, releaseEmailLink, useEmailLink } from '../../store/notices';
import { AccessService, SafeText } from '../access';
import type { Deps } from '../app';
import { HttpError } from '../errors';
import { linkClaims } from './email-links';
import type { LinkRefusals } from './email-links';
import { acceptHtmlForms, page } from './pages';

const REFUSED: LinkRefusals = {
  malformed:
    'This link is incomplete or damaged. Open it again from the email, or decide in Slack or the CLI.',
  'bad-signature':
    'This link was not issued by this keyward, or it was altered. Nothing was decided.',
  expired:
    "This link has expired, as the request's approval window has passed. Nothing was decided.",
};

const Form = z.object({ token: z.string().max(2_000), reason: z.string().max(20_000).optional() });

/**
 * Decision links from approval emails. Opening one (GET) only shows what it would decide; the
 * decision is the POST from that page, so mail scanners that follow links decide nothing.
 */
export function emailRoutes(deps: Deps, links: LinkSigner) {
  const access = new AccessService(deps);

  const claims = (reply: FastifyReply, token: string | undefined) =>
    linkClaims(reply, links, token, undefined, REFUSED);

  return async (app: FastifyInstance) => {
    acceptHtmlForms(app);

    app.get('/email/decide', async (request, reply) => {
      // A link cut short or pasted twice is answered with a page, like any other bad link.
      const query = Form.safeParse(request.query);
      const link = await claims(reply, query.data?.token);
      if (!link || !query.success) return reply;
      // Say at once that there is nothing left to decide, rather than offer a button that cannot work.
      if (await emailLinkUsed(deps.db, link.nonce)) {
        return page(
          reply,
          409,
          'Link already used',
          '<p>This link has already been used; a link decides once.</p>',
        );
      }
      // The request's state comes from its workflow, which is ahead of the records it writes.
      const state = await access.status(link.requestId).catch(() => undefined);
      if (!state) return page(reply, 404, 'Unknown request', '<p>keyward has no such request.</p>');
      const open = state.status === 'PENDING' && state.approvals.length < state.plan.required;
      if (!open) {
        const status = escapeHtml(
          state.status === 'PENDING' ? 'approved' : state.status.toLowerCase(),
        );
        return page(reply, 409, 'Nothing to decide', `<p>This request is already ${status}.</p>`);
      }
      const requester = deps.policy().identity(state.requester)?.name ?? state.requester;
      const verb = link.decision === 'approve' ? 'Approve' : 'Deny';
      const reason =
        link.decision === 'deny'
          ? '<p><label>Reason (required)<br>' +
            '<textarea name="reason" rows="4" cols="60" required maxlength="2000"></textarea></label></p>'
          : '';
      return page(
        reply,
        200,
        `${verb} this request?`,
        `<p><b>${escapeHtml(requester)}</b> asks for <b>${escapeHtml(state.plan.entitlementId)}</b> ` +
          `for ${formatDuration(state.plan.durationMs)}.</p><p>Reason: ${escapeHtml(state.reason || '(none)')}</p>` +
          `<p>You are deciding as <b>${escapeHtml(link.approver)}</b>.</p>` +
          '<form method="post" action="/email/decide">' +
          `<input type="hidden" name="token" value="${escapeHtml(query.data.token)}">` +
          `${reason}<button type="submit">${verb}</button></form>`,
      );
    });

    app.post('/email/decide', async (request, reply) => {
      const form = Form.safeParse(request.body);
      const link = await claims(reply, form.data?.token);
      if (!link || !form.success) return reply;
      const reason = form.data.reason?.trim() || undefined;
      const problem =
        reason === undefined ? undefined : SafeText.safeParse(reason).error?.issues[0]?.message;
      if (problem) {
        return page(reply, 400, 'Reason not accepted', `<p>The reason ${escapeHtml(problem)}.</p>`);
      }
      if (!deps.policy().identity(link.approver)) {
        return page(
          reply,
          403,
          'Not recorded',
          `<p>${escapeHtml(link.approver)} is no longer in keyward's policy.</p>`,
        );
      }
      if (link.decision === 'deny' && !reason) {
        return page(
          reply,
          400,
          'A reason is needed',
          '<p>Go back and say why you deny the request.</p>',
        );
      }
      const use = { nonce: link.nonce, requestId: link.requestId, approver: link.approver };
      if (!(await useEmailLink(deps.db, use))) {
        return page(
          reply,
          409,
          'Link already used',
          '<p>This link has already been used; a link decides once.</p>',
        );
      }
      try {
        const state = await access.decide(link.approver, link.requestId, link.decision, reason);
        const done = link.decision === 'approve' ? 'Approved' : 'Denied';
        return page(
          reply,
          200,
          done,
          `<p>${done} as ${escapeHtml(link.approver)}. The request is now ${escapeHtml(state.status)}.</p>`,
        );
      } catch (err) {
        // Refusals of the person (already decided, not an approver) are final. A refusal of what was
        // typed, or a failure that may pass, leaves the link usable for another try.
        const final = err instanceof HttpError && err.statusCode < 500 && err.statusCode !== 400;
        if (!final) await releaseEmailLink(deps.db, link.nonce);
        if (err instanceof HttpError && err.statusCode < 500) {
          return page(reply, err.statusCode, 'Not recorded', `<p>${escapeHtml(err.message)}</p>`);
        }
        throw err;
      }
    });
  };
}
