import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { formatDuration } from '../domain/duration';
import type { SlackPorts } from '../integrations/slack/app';
import { campaignIdFrom, CampaignService } from './campaigns';
import type { EmbeddedSlackReceiver } from '../integrations/slack/receiver';
import { listGrants } from '../store/grants';
import { listRequests } from '../store/requests';
import { AccessService } from './access';
import type { Deps } from './app';
import { HttpError } from './errors';
import { IncidentService } from './incidents';

/** Runs `work`, turning a refusal into a message for the person in Slack. */
async function outcome<T extends object>(
  work: () => Promise<T>,
): Promise<({ ok: true } & T) | { ok: false; message: string }> {
  try {
    return { ok: true, ...(await work()) };
  } catch (err) {
    if (err instanceof HttpError) return { ok: false, message: err.message };
    if (err instanceof ZodError) {
      return { ok: false, message: err.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ') };
    }
    throw err;
  }
}

/** What the Slack app may do in keyward, on behalf of the identity behind a Slack user. */
export function slackPorts(deps: Deps): SlackPorts {
  const access = new AccessService(deps);
  const incidents = new IncidentService(deps);
  const campaigns = new CampaignService(deps);
  return {
    // The update answers once the restore is done, which can outlast Slack's patience: the click
    // is acknowledged first, and the answer is a message of its own.
    approveRestore: (identity, incidentId) =>
      outcome(async () => ({ status: (await incidents.approveRestore(identity, incidentId)).status })),
    decide: (identity, requestId, decision, reason) =>
      outcome(() => access.decide(identity, requestId, decision, reason)),
    decideCampaignItem: (identity, campaignId, seq, decision) =>
      outcome(() => {
        const reason = decision === 'revoke' ? 'revoked in Slack' : undefined;
        return campaigns.decide(identity, campaignIdFrom(campaignId), [{ seq, decision, reason }], 'slack');
      }),
    createRequest: (identity, input) => outcome(() => access.create(identity, input)),
    async overview(identity) {
      const [awaiting, grants, requests] = await Promise.all([
        listRequests(deps.db, { awaiting: identity, limit: 20 }),
        listGrants(deps.db, { identity, activeOnly: true }),
        listRequests(deps.db, { requester: identity, limit: 10 }),
      ]);
      return {
        // People, not identity ids, as in the approval message itself.
        awaiting: awaiting.map((r) => ({
          id: r.id,
          requester: deps.policy().identity(r.requester)?.name ?? r.requester,
          entitlement: r.entitlementId,
        })),
        grants: grants.map((g) => ({ requestId: g.requestId, entitlement: g.entitlementId, expiresAt: g.expiresAt })),
        requests: requests.map((r) => ({ id: r.id, entitlement: r.entitlementId, status: r.status })),
      };
    },
    entitlements: () =>
      deps.policy().policy.entitlements.map((e) => ({
        id: e.id,
        riskTier: `${e.riskTier}, up to ${formatDuration(e.maxDuration)}`,
      })),
    async entitlementOf(requestId) {
      const row = await deps.db
        .selectFrom('requests')
        .select('entitlement_id')
        .where('id', '=', requestId)
        .executeTakeFirst();
      return row?.entitlement_id;
    },
  };
}

/** Slack's interactions, slash commands and events arrive here, signed; the raw body is kept for the signature. */
export function slackRoute(receiver: EmbeddedSlackReceiver) {
  return async (app: FastifyInstance) => {
    app.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );
    app.post('/slack/events', async (request, reply) => {
      const header = (name: string) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const response = await receiver.handle({
        rawBody: typeof request.body === 'string' ? request.body : '',
        contentType: header('content-type') ?? '',
        signature: header('x-slack-signature'),
        timestamp: header('x-slack-request-timestamp'),
        retryNum: header('x-slack-retry-num'),
        retryReason: header('x-slack-retry-reason'),
      });
      return reply.status(response.status).type(response.contentType).send(response.body);
    });
  };
}
