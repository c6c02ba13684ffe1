import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { LinkSigner } from '../../integrations/email/links';
import { escapeHtml } from '../../integrations/email/templates';
import { emailLinkUsed, releaseEmailLink, useEmailLink } from '../../store/notices';
import type { Deps } from '../app';
import { HttpError } from '../errors';
import { IncidentService } from '../incidents';
import { linkClaims } from './email-links';
import type { LinkRefusals } from './email-links';
import { acceptHtmlForms, page } from './pages';

const Form = z.object({ token: z.string().max(2_000) });

const REFUSED: LinkRefusals = {
  malformed: 'This link is incomplete or damaged. Approve with keyward incident restore instead.',
  'bad-signature':
    'This link was not issued by this keyward, or it was altered. Nothing was approved.',
  expired: 'This link has expired. Nothing was approved; keyward incident restore still works.',
};

/**
 * Restore approvals from email. As with request links, opening one (GET) only shows what it
 * would approve; the approval is the POST from that page, and each link works once.
 */
export function incidentEmailRoutes(deps: Deps, links: LinkSigner) {
  const incidents = new IncidentService(deps);

  const claims = (reply: FastifyReply, token: string | undefined) =>
    linkClaims(reply, links, token, 'incident-restore', REFUSED);

  return async (app: FastifyInstance) => {
    acceptHtmlForms(app);

    app.get('/email/incident-restore', async (request, reply) => {
      // A link cut short or pasted twice is answered with a page, like any other bad link.
      const query = Form.safeParse(request.query);
      const link = await claims(reply, query.data?.token);
      if (!link || !query.success) return reply;
      const { token } = query.data;
      if (await emailLinkUsed(deps.db, link.nonce)) {
        return page(
          reply,
          409,
          'Link already used',
          '<p>This link has already been used; a link approves once.</p>',
        );
      }
      // Read as the approver: a link names someone who may see the incident, or it shows nothing.
      const state = await incidents.status(link.approver, link.requestId).catch(() => undefined);
      if (!state)
        return page(reply, 404, 'Unknown incident', '<p>keyward has no such incident.</p>');
      return page(
        reply,
        200,
        'Approve this restore?',
        `<p>Incident ${escapeHtml(state.incidentId)} about <b>${escapeHtml(state.identity)}</b> ` +
          `(${escapeHtml(state.severity)}): ${escapeHtml(state.reason)}. It is ${escapeHtml(state.status)}.</p>` +
          '<p>Restoring lets its logins in again, puts back its standing memberships and rotates its credentials.</p>' +
          `<p>You are approving as <b>${escapeHtml(link.approver)}</b>.</p>` +
          '<form method="post" action="/email/incident-restore">' +
          `<input type="hidden" name="token" value="${escapeHtml(token)}">` +
          '<button type="submit">Approve the restore</button></form>',
      );
    });

    app.post('/email/incident-restore', async (request, reply) => {
      const form = Form.safeParse(request.body);
      const link = await claims(reply, form.data?.token);
      if (!link || !form.success) return reply;
      // The nonce is spent before the approval is sent, so two quick POSTs of one link approve once.
      const use = { nonce: link.nonce, requestId: link.requestId, approver: link.approver };
      if (!(await useEmailLink(deps.db, use))) {
        return page(
          reply,
          409,
          'Link already used',
          '<p>This link has already been used; a link approves once.</p>',
        );
      }
      try {
        const state = await incidents.approveRestore(link.approver, link.requestId);
        return page(
          reply,
          200,
          'Approved',
          `<p>Approved as ${escapeHtml(link.approver)}. The incident is ${escapeHtml(state.status)}.</p>`,
        );
      } catch (err) {
        // A refusal of the person (not eligible, already approved) is final; anything else may pass.
        if (!(err instanceof HttpError && err.statusCode < 500))
          await releaseEmailLink(deps.db, link.nonce);
        if (err instanceof HttpError && err.statusCode < 500) {
          return page(reply, err.statusCode, 'Not recorded', `<p>${escapeHtml(err.message)}</p>`);
        }
        throw err;
      }
    });
  };
}
