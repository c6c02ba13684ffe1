import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import { fallbackReviewer, reviewerFor } from '../domain/campaign';
import { CampaignSpecSchema, specFromDefinition } from '../domain/campaign-spec';
import type { CampaignSpec } from '../domain/campaign-spec';
import type { CampaignPlan, DecideInput, DelegateInput, ReviewerItem } from '../domain/campaign';
import { FailureType } from '../domain/failures';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { ConnectorError } from '../integrations/connectors/types';
import { appendAuditEvent } from '../store/audit';
import * as store from '../store/campaigns';
import type { Db } from '../store/db';
import { collectItems } from './campaign-scope';

export interface CampaignDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  policy: () => PolicyView;
}

const ACTOR = 'keyward:campaign';

export function createCampaignActivities(deps: CampaignDeps) {
  const { db } = deps;

  async function specOf(campaignId: string): Promise<CampaignSpec> {
    const campaign = await store.findCampaign(db, campaignId);
    if (!campaign) {
      throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, FailureType.InvalidInput);
    }
    return CampaignSpecSchema.parse(campaign.spec);
  }

  const fallbackGroup = (spec: CampaignSpec) =>
    spec.fallbackGroup ??
    deps.policy().policy.settings.campaignFallbackGroup ??
    deps.policy().policy.settings.adminGroup;

  const audit = (key: string, campaignId: string, action: string, actor: string, details: Record<string, unknown>) =>
    appendAuditEvent(db, {
      key,
      actor,
      action,
      subject: `campaign/${campaignId}`,
      workflowId: `campaign/${campaignId}`,
      details,
    });

  return {
    /**
     * Collects every item in scope, assigns its reviewer and writes them all to the database. The
     * items never travel through history: the workflow gets back only counts and dates.
     */
    async prepareCampaign(input: { campaignId: string }): Promise<CampaignPlan> {
      const spec = await specOf(input.campaignId);
      const view = deps.policy();
      const group = fallbackGroup(spec);
      const found = await collectItems(db, deps.connectors, view, spec.scope, () => Context.current().heartbeat());
      const items = found.map((item) => {
        const reviewer = reviewerFor(view, item.identity, spec.reviewers, group);
        if (!reviewer) {
          throw ApplicationFailure.nonRetryable(
            `nobody but ${item.identity} is in the fallback group ${group}; another reviewer is needed`,
            FailureType.Misconfigured,
          );
        }
        return { ...item, reviewer };
      });
      await store.replaceItems(db, input.campaignId, items);
      const launched = new Date();
      const deadlineAt = new Date(launched.getTime() + spec.deadlineMs).toISOString();
      await store.updateCampaign(db, input.campaignId, {
        launchedAt: launched.toISOString(),
        deadlineAt,
      });
      const reviewers = new Set(items.map((item) => item.reviewer)).size;
      await audit(`campaign/${input.campaignId}/launched`, input.campaignId, 'campaign.launched', ACTOR, {
        name: spec.name,
        items: items.length,
        reviewers,
        deadlineAt,
      });
      log.info('Campaign prepared', { campaignId: input.campaignId, items: items.length, reviewers });
      return {
        campaignId: input.campaignId,
        items: items.length,
        reviewers,
        launchedAt: launched.toISOString(),
        deadlineAt,
        remindMs: spec.remindMs,
        escalateAt: spec.escalateAfterMs
          ? new Date(launched.getTime() + spec.escalateAfterMs).toISOString()
          : undefined,
        defaultDecision: spec.default,
        massRevocationShare: spec.massRevocationShare ?? view.policy.settings.massRevocationShare,
        admins: view.members(view.policy.settings.adminGroup),
      };
    },

    /** Records one occurrence of a recurring campaign; its id comes from the time it was due. */
    async createScheduledCampaign(input: { definitionId: string; scheduledAt: string }) {
      const definition = deps.policy().policy.campaigns.find((d) => d.id === input.definitionId);
      if (!definition) {
        throw ApplicationFailure.nonRetryable(
          `campaign definition ${input.definitionId} is not in the policy`,
          FailureType.Misconfigured,
        );
      }
      // The due time names the occurrence, so a run the schedule repeats records the same campaign.
      const stamp = input.scheduledAt.slice(0, 16).replace(/[-:]/g, '');
      // The stamp is kept whole, so two occurrences of a long definition id never share a campaign.
      const campaignId = `${definition.id.slice(0, 63 - stamp.length - 1)}-${stamp}`;
      const spec = specFromDefinition(definition, `${definition.name} (${input.scheduledAt.slice(0, 10)})`);
      await store.createCampaign(db, {
        id: campaignId,
        name: spec.name,
        spec,
        createdBy: ACTOR,
        definitionId: definition.id,
      });
      return { campaignId };
    },

    async reviewerPage(input: { campaignId: string; after: string; limit: number }): Promise<string[]> {
      return store.reviewersPage(db, input.campaignId, input.after, input.limit);
    },

    async loadReviewerItems(input: {
      campaignId: string;
      reviewerId: string;
      afterSeq: number;
      limit: number;
    }): Promise<ReviewerItem[]> {
      const rows = await store.itemsOfReviewer(db, input.campaignId, input.reviewerId, input.afterSeq, input.limit);
      return rows.map((row) => ({
        seq: row.seq,
        identity: row.identity,
        decided: row.decision !== null,
        ...(row.delegate && { delegate: row.delegate }),
      }));
    },

    /** Writes accepted decisions and one audit event for the batch, keyed so a retry appends nothing. */
    async recordDecisions(input: DecideInput & { campaignId: string; reviewerId: string; at: string }) {
      // Keyed by the batch's first item: an item is decided once, so no two batches share it.
      const changed = await store.recordDecisions(db, input.campaignId, input.decisions, input.actor, input.at);
      await audit(
        `campaign/${input.campaignId}/decision/${input.decisions[0].seq}`,
        input.campaignId,
        'campaign.decided',
        input.actor,
        { reviewer: input.reviewerId, channel: input.channel, decisions: input.decisions },
      );
      return changed;
    },

    async recordDelegation(input: DelegateInput & { campaignId: string; reviewerId: string }): Promise<void> {
      await store.delegateItems(db, input.campaignId, input.seqs, input.to);
      await audit(
        `campaign/${input.campaignId}/delegated/${input.seqs[0]}/${input.to}`,
        input.campaignId,
        'campaign.delegated',
        input.actor,
        { reviewer: input.reviewerId, to: input.to, items: input.seqs },
      );
    },

    /** Sends a reviewer's pending items also to their manager, or to the fallback group. */
    async escalateReviewer(input: { campaignId: string; reviewerId: string }): Promise<string | undefined> {
      const spec = await specOf(input.campaignId);
      const view = deps.policy();
      const manager = view.identity(input.reviewerId)?.manager;
      const to =
        manager && manager !== input.reviewerId
          ? manager
          : fallbackReviewer(view, fallbackGroup(spec), input.reviewerId);
      if (!to) return undefined;
      const pending = await store.escalateItems(db, input.campaignId, input.reviewerId, to);
      await audit(
        `campaign/${input.campaignId}/escalated/${input.reviewerId}`,
        input.campaignId,
        'campaign.escalated',
        ACTOR,
        {
          reviewer: input.reviewerId,
          to,
          pending,
        },
      );
      return to;
    },

    /** The deadline's decision for whatever the reviewer left undecided, in one statement. */
    async applyDefaultDecision(input: { campaignId: string; reviewerId: string; decision: 'keep' | 'revoke' }) {
      const decision = input.decision === 'keep' ? 'certify' : 'revoke';
      const at = new Date().toISOString();
      // One UPDATE ... RETURNING: a retry after a lost reply finds nothing left and changes nothing.
      const seqs = (await store.applyDefault(db, input.campaignId, input.reviewerId, decision, at)).map((r) => r.seq);
      if (seqs.length > 0) {
        await audit(
          `campaign/${input.campaignId}/default/${input.reviewerId}`,
          input.campaignId,
          'campaign.defaulted',
          ACTOR,
          {
            reviewer: input.reviewerId,
            decision,
            items: seqs,
          },
        );
      }
      return { defaulted: seqs.length };
    },

    /**
     * Applies up to `limit` revocations on the targets. Each result is recorded per item, and a
     * failure is kept with its message for the next pass and the evidence rather than thrown.
     */
    async remediateBatch(input: { campaignId: string; maxAttempts: number; limit: number }) {
      // Each item's result is written before the next is tried, so a batch cut short by a crash
      // resumes where it stopped and repeats at most one ensureRevoked, which is harmless.
      const rows = await store.pendingRevocations(db, input.campaignId, input.maxAttempts, input.limit);
      const results: { seq: number; result: string; error?: string }[] = [];
      for (const row of rows) {
        Context.current().heartbeat(row.seq);
        try {
          await deps.connectors.get(row.system_id).ensureRevoked(row.role, row.login);
          await store.closeGrantRecords(db, row);
          await store.markRemediation(db, input.campaignId, row.seq, { remediation: 'revoked' });
          results.push({ seq: row.seq, result: 'revoked' });
        } catch (err) {
          const error = err instanceof ConnectorError ? err.message : `unexpected error: ${(err as Error).message}`;
          await store.markRemediation(db, input.campaignId, row.seq, { remediation: 'failed', error });
          results.push({ seq: row.seq, result: 'failed', error });
        }
      }
      if (results.length > 0) {
        await audit(
          `campaign/${input.campaignId}/remediated/${results[0].seq}/${rows[0].remediation_attempts}`,
          input.campaignId,
          'campaign.remediated',
          ACTOR,
          { results },
        );
      }
      return {
        revoked: results.filter((r) => r.result === 'revoked').length,
        failed: results.filter((r) => r.result === 'failed').length,
        more: rows.length === input.limit,
      };
    },

    async finishCampaign(input: { campaignId: string; status: string; confirmedBy?: string }) {
      if (input.status === 'COMPLETED') await store.markKept(db, input.campaignId);
      const finishedAt = new Date().toISOString();
      await store.updateCampaign(db, input.campaignId, {
        status: input.status,
        finishedAt,
        confirmedBy: input.confirmedBy,
      });
      const counts = await store.remediationCounts(db, input.campaignId);
      await audit(
        `campaign/${input.campaignId}/finished`,
        input.campaignId,
        `campaign.${input.status.toLowerCase()}`,
        ACTOR,
        {
          remediation: counts,
          ...(input.confirmedBy && { confirmedBy: input.confirmedBy }),
        },
      );
      return counts;
    },

    async setCampaignStatus(input: { campaignId: string; status: string }): Promise<void> {
      await store.updateCampaign(db, input.campaignId, { status: input.status });
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
