import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { decisionProblem } from '../domain/campaign';
import { formatDuration } from '../domain/duration';
import { reviewLinkClaims } from '../integrations/email/review-links';
import type { ReviewLinkSigner } from '../integrations/email/review-links';
import type { SlackPorts } from '../integrations/slack/app';
import type { ReviewItem } from '../integrations/slack/campaign-blocks';
import type { CampaignSlackPorts } from '../integrations/slack/ports';
import { campaignIdFrom, CampaignService } from './campaigns';
import type { EmbeddedSlackReceiver } from '../integrations/slack/receiver';
import { findCampaign, itemsBySeq } from '../store/campaigns';
import type { ReviewItemRow } from '../store/campaigns';
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
      return {
        ok: false,
        message: err.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '),
      };
    }
    throw err;
  }
}

/** Rebuilt review messages link to the review page as the first one did. */
export interface SlackDeps extends Deps {
  publicUrl: string;
  reviewLinks: ReviewLinkSigner;
}

/** What the Slack app may do in keyward, on behalf of the identity behind a Slack user. */
export function slackPorts(deps: SlackDeps): SlackPorts {
  const access = new AccessService(deps);
  const incidents = new IncidentService(deps);
  return {
    ...campaignPorts(deps),
    // The update answers once the restore is done, which can outlast Slack's patience: the click
    // is acknowledged first, and the answer is a message of its own.
    approveRestore: (identity, incidentId) =>
      outcome(async () => ({
        status: (await incidents.approveRestore(identity, incidentId)).status,
      })),
    decide: (identity, requestId, decision, reason) =>
      outcome(() => access.decide(identity, requestId, decision, reason)),
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
        grants: grants.map((g) => ({
          requestId: g.requestId,
          entitlement: g.entitlementId,
          expiresAt: g.expiresAt,
        })),
        requests: requests.map((r) => ({
          id: r.id,
          entitlement: r.entitlementId,
          status: r.status,
        })),
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

function campaignPorts(deps: SlackDeps): CampaignSlackPorts {
  const campaigns = new CampaignService(deps);
  return {
    decideCampaignItem: (identity, campaignId, seq, decision, reason) =>
      outcome(() =>
        campaigns.decide(
          identity,
          campaignIdFrom(campaignId),
          [{ seq, decision, reason }],
          'slack',
        ),
      ),
    // Nobody should type a reason only to learn the item was never theirs to decide. The decision
    // itself is checked again, by the reviewer workflow, when the reason arrives.
    revocableItem: (identity, campaignId, seq) =>
      outcome(async () => {
        const id = campaignIdFrom(campaignId);
        const campaign = await findCampaign(deps.db, id);
        if (!campaign) throw new HttpError(404, `no campaign ${id}`);
        if (campaign.status === 'CANCELLED')
          throw new HttpError(409, `campaign ${id} was cancelled`);
        if (campaign.deadlineAt && Date.parse(campaign.deadlineAt) <= Date.now()) {
          throw new HttpError(
            409,
            `the deadline of campaign ${id} passed at ${campaign.deadlineAt}`,
          );
        }
        const [row] = await itemsBySeq(deps.db, id, [seq]);
        if (!row) throw new HttpError(404, `no item ${seq} in campaign ${id}`);
        const item = {
          seq,
          identity: row.identity,
          decided: row.decision !== null,
          delegate: row.delegate ?? undefined,
        };
        const problem = decisionProblem(
          item,
          identity,
          row.reviewer,
          row.escalated_to ?? undefined,
        );
        if (problem) throw new HttpError(409, problem);
        return { identity: row.identity, entitlement: row.entitlement_id, system: row.system_id };
      }),
    async reviewMessage(campaignId, reviewerId, seqs) {
      const id = campaignIdFrom(campaignId);
      const campaign = await findCampaign(deps.db, id);
      if (!campaign?.deadlineAt) return undefined;
      const rows = await itemsBySeq(deps.db, id, seqs);
      return {
        campaignId: id,
        campaignName: campaign.name,
        reviewerId,
        deadlineAt: campaign.deadlineAt,
        link: deps.reviewLinks.link(
          deps.publicUrl,
          reviewLinkClaims(id, reviewerId, campaign.deadlineAt),
        ),
        // In the message's own order; an item the record no longer has is left out.
        items: seqs.flatMap((seq) => rows.filter((row) => row.seq === seq).map(reviewItem)),
      };
    },
  };
}

function reviewItem(row: ReviewItemRow): ReviewItem {
  const item = {
    seq: row.seq,
    identity: row.identity,
    entitlement: row.entitlement_id,
    system: row.system_id,
    riskTier: row.risk_tier,
  };
  if (!row.decision) return item;
  const at = (row.decided_at ?? new Date()).toISOString();
  return { ...item, decided: { decision: row.decision, by: row.decided_by ?? 'unknown', at } };
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
