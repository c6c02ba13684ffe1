import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowClient } from '@temporalio/client';
import type { PolicyView } from '../domain/access';
import { groupMemberFor, ReviewerAssigner, reviewerWorkflowId } from '../domain/campaign';
import { CampaignSpecSchema, specFromDefinition } from '../domain/campaign-spec';
import type { CampaignSpec } from '../domain/campaign-spec';
import type {
  CampaignPlan,
  DecideInput,
  DecisionTotals,
  DefaultApplication,
  DelegateInput,
  ReviewerItem,
} from '../domain/campaign';
import { FailureType } from '../domain/failures';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { appendAuditEvent } from '../store/audit';
import * as store from '../store/campaigns';
import type { Db } from '../store/db';
import { collectItems } from './campaign-scope';

export interface CampaignDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  policy: () => PolicyView;
  /** Stops the reviewer workflows of a campaign that was cancelled or failed. */
  workflows: Pick<WorkflowClient, 'getHandle'>;
}

const ACTOR = 'keyward:campaign';
/** Who is named as deciding what the deadline's default decided. */
const DEFAULT_ACTOR = 'keyward:default';

/**
 * Heartbeats every few seconds while `work` runs, for activities whose steps (one target's member
 * list, one bulk insert) can each take longer than the heartbeat timeout at scale.
 */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 5_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Appends a campaign's audit event, keyed so that an activity's retry appends nothing. */
export const campaignAudit =
  (db: Db) =>
  (
    key: string,
    campaignId: string,
    action: string,
    actor: string,
    details: Record<string, unknown>,
  ) =>
    appendAuditEvent(db, {
      key,
      actor,
      action,
      subject: `campaign/${campaignId}`,
      workflowId: `campaign/${campaignId}`,
      details,
    });

export function createCampaignActivities(deps: CampaignDeps) {
  const { db } = deps;

  async function specOf(campaignId: string): Promise<CampaignSpec> {
    const campaign = await store.findCampaign(db, campaignId);
    if (!campaign) {
      throw ApplicationFailure.nonRetryable(
        `campaign ${campaignId} does not exist`,
        FailureType.InvalidInput,
      );
    }
    return CampaignSpecSchema.parse(campaign.spec);
  }

  const fallbackGroup = (spec: CampaignSpec) =>
    spec.fallbackGroup ??
    deps.policy().policy.settings.campaignFallbackGroup ??
    deps.policy().policy.settings.adminGroup;

  const audit = campaignAudit(db);

  return {
    /**
     * Collects every item in scope, assigns its reviewer and writes them all to the database. The
     * items never travel through history: the workflow gets back only counts and dates.
     */
    async prepareCampaign(input: { campaignId: string }): Promise<CampaignPlan> {
      return heartbeating(async () => {
        const spec = await specOf(input.campaignId);
        const view = deps.policy();
        const group = fallbackGroup(spec);
        const found = await collectItems(db, deps.connectors, view, spec.scope);
        const assigner = new ReviewerAssigner(view, spec.reviewers, group);
        const items = found.map((item) => {
          const reviewer = assigner.reviewerFor(item.identity);
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
        await audit(
          `campaign/${input.campaignId}/launched`,
          input.campaignId,
          'campaign.launched',
          ACTOR,
          {
            name: spec.name,
            items: items.length,
            reviewers,
            deadlineAt,
          },
        );
        log.info('Campaign prepared', {
          campaignId: input.campaignId,
          items: items.length,
          reviewers,
        });
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
      });
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
      const spec = specFromDefinition(
        definition,
        `${definition.name} (${input.scheduledAt.slice(0, 10)})`,
      );
      await store.createCampaign(db, {
        id: campaignId,
        name: spec.name,
        spec,
        createdBy: ACTOR,
        definitionId: definition.id,
      });
      return { campaignId };
    },

    async reviewerPage(input: {
      campaignId: string;
      after: string;
      limit: number;
    }): Promise<string[]> {
      return store.reviewersPage(db, input.campaignId, input.after, input.limit);
    },

    async loadReviewerItems(input: {
      campaignId: string;
      reviewerId: string;
      afterSeq: number;
      limit: number;
    }): Promise<ReviewerItem[]> {
      const rows = await store.itemsOfReviewer(
        db,
        input.campaignId,
        input.reviewerId,
        input.afterSeq,
        input.limit,
      );
      return rows.map((row) => ({
        seq: row.seq,
        identity: row.identity,
        decided: row.decision !== null,
        ...(row.delegate && { delegate: row.delegate }),
      }));
    },

    /** Writes accepted decisions and one audit event for the batch, keyed so a retry appends nothing. */
    async recordDecisions(
      input: DecideInput & { campaignId: string; reviewerId: string; at: string },
    ) {
      // Keyed by the batch's first item: an item is decided once, so no two batches share it.
      const changed = await store.recordDecisions(
        db,
        input.campaignId,
        input.decisions,
        input.actor,
        input.at,
      );
      await audit(
        `campaign/${input.campaignId}/decision/${input.decisions[0].seq}`,
        input.campaignId,
        'campaign.decided',
        input.actor,
        { reviewer: input.reviewerId, channel: input.channel, decisions: input.decisions },
      );
      return changed;
    },

    async recordDelegation(
      input: DelegateInput & { campaignId: string; reviewerId: string },
    ): Promise<void> {
      await store.delegateItems(db, input.campaignId, input.seqs, input.to);
      await audit(
        `campaign/${input.campaignId}/delegated/${input.seqs[0]}/${input.to}`,
        input.campaignId,
        'campaign.delegated',
        input.actor,
        { reviewer: input.reviewerId, to: input.to, items: input.seqs },
      );
    },

    /** Who a reviewer's pending items are escalated to: their manager, or one of the fallback group. */
    async escalationTarget(input: {
      campaignId: string;
      reviewerId: string;
    }): Promise<string | undefined> {
      const spec = await specOf(input.campaignId);
      const view = deps.policy();
      const manager = view.identity(input.reviewerId)?.manager;
      if (manager && manager !== input.reviewerId && view.identity(manager)) return manager;
      return groupMemberFor(view, fallbackGroup(spec), input.reviewerId, input.reviewerId);
    },

    /**
     * Records the escalation on the reviewer's pending items. The workflow already accepts the
     * escalated-to person's decisions when this runs, so the record never gets ahead of it.
     */
    async recordEscalation(input: {
      campaignId: string;
      reviewerId: string;
      to: string;
    }): Promise<void> {
      const pending = await store.escalateItems(db, input.campaignId, input.reviewerId, input.to);
      await audit(
        `campaign/${input.campaignId}/escalated/${input.reviewerId}`,
        input.campaignId,
        'campaign.escalated',
        ACTOR,
        { reviewer: input.reviewerId, to: input.to, pending },
      );
    },

    async decisionTotals(input: { campaignId: string }): Promise<DecisionTotals> {
      return store.decisionTotals(db, input.campaignId);
    },

    /**
     * The deadline's decision for whatever nobody decided, reviewer by reviewer, each in one
     * statement with its audit event: a retry after a lost reply finds nothing left to change.
     */
    async applyDefaults(
      input: DefaultApplication & { campaignId: string },
    ): Promise<{ applied: number }> {
      const at = new Date().toISOString();
      const by = DEFAULT_ACTOR;
      let applied = 0;
      for (let after = ''; ;) {
        const reviewers = await store.reviewersPage(db, input.campaignId, after, 500);
        for (const reviewer of reviewers) {
          Context.current().heartbeat(reviewer);
          const { decision, reason } = input;
          const seqs = (
            await store.applyDefault(db, input.campaignId, reviewer, { decision, reason, by }, at)
          ).map((row) => row.seq);
          if (seqs.length === 0) continue;
          applied += seqs.length;
          await audit(
            `campaign/${input.campaignId}/default/${reviewer}`,
            input.campaignId,
            'campaign.defaulted',
            by,
            {
              reviewer,
              decision,
              reason,
              items: seqs,
              ...(input.by && { [decision === 'revoke' ? 'approvedBy' : 'declinedBy']: input.by }),
            },
          );
        }
        if (reviewers.length < 500) return { applied };
        after = reviewers[reviewers.length - 1];
      }
    },

    /** Cancels every reviewer workflow of the campaign still running. */
    async stopReviewers(input: { campaignId: string }): Promise<void> {
      for (let after = ''; ;) {
        const reviewers = await store.reviewersPage(db, input.campaignId, after, 500);
        await Promise.all(
          reviewers.map(async (reviewer) => {
            try {
              await deps.workflows
                .getHandle(reviewerWorkflowId(input.campaignId, reviewer))
                .cancel();
            } catch (err) {
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            }
          }),
        );
        Context.current().heartbeat(after);
        if (reviewers.length < 500) return;
        after = reviewers[reviewers.length - 1];
      }
    },

    /** The admin group's members as the policy says now, for a campaign that failed before its plan. */
    async adminsNow(): Promise<string[]> {
      return deps.policy().members(deps.policy().policy.settings.adminGroup);
    },

    async finishCampaign(input: {
      campaignId: string;
      status: string;
      confirmedBy?: string;
      declinedBy?: string;
      failure?: string;
    }) {
      if (input.status === 'COMPLETED') await store.markKept(db, input.campaignId);
      const { campaignId, status, confirmedBy, declinedBy, failure } = input;
      await store.updateCampaign(db, campaignId, {
        status,
        finishedAt: new Date().toISOString(),
        confirmedBy,
        declinedBy,
        failure,
      });
      const counts = await store.remediationCounts(db, campaignId);
      await audit(
        `campaign/${campaignId}/finished`,
        campaignId,
        `campaign.${status.toLowerCase()}`,
        ACTOR,
        {
          remediation: counts,
          ...(confirmedBy && { confirmedBy }),
          ...(declinedBy && { declinedBy }),
          ...(failure && { failure }),
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
