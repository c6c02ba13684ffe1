import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { groupMemberFor, reviewerWorkflowId } from '../domain/campaign';
import type {
  DecideInput,
  DecisionTotals,
  DefaultApplication,
  DelegateInput,
  ReviewerItem,
} from '../domain/campaign';
import * as store from '../store/campaigns';
import {
  CAMPAIGN_ACTOR as ACTOR,
  campaignAudit,
  campaignSpec,
  fallbackGroupOf,
} from './campaign-common';
import type { CampaignDeps } from './campaign-common';

export type { CampaignDeps } from './campaign-common';

/** Who is named as deciding what the deadline's default decided. */
const DEFAULT_ACTOR = 'keyward:default';

/** A campaign's reviews as they go: items, decisions, delegations, escalations, defaults, its end. */
export function createCampaignActivities(deps: CampaignDeps) {
  const { db } = deps;

  const audit = campaignAudit(db);

  return {
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
      input: DelegateInput & { campaignId: string; reviewerId: string; delegation: number },
    ): Promise<void> {
      await store.delegateItems(db, input.campaignId, input.seqs, input.to);
      // Numbered by the reviewer workflow, so every delegation has its event and a retry adds none.
      await audit(
        `campaign/${input.campaignId}/delegated/${input.reviewerId}/${input.delegation}`,
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
      const spec = await campaignSpec(db, input.campaignId);
      const view = deps.policy();
      const manager = view.identity(input.reviewerId)?.manager;
      if (manager && manager !== input.reviewerId && view.identity(manager)?.kind === 'human') {
        return manager;
      }
      return groupMemberFor(view, fallbackGroupOf(view, spec), input.reviewerId, input.reviewerId);
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
    ): Promise<{ certified: number; revoked: number }> {
      const { campaignId } = input;
      const at = new Date().toISOString();
      const applied = { certified: 0, revoked: 0 };
      const apply = async (
        whose: { reviewer: string } | { identity: string },
        key: string,
        application: { decision: 'certify' | 'revoke'; reason: string },
      ) => {
        const { decision, reason } = application;
        const rows = await store.applyDefault(
          db,
          campaignId,
          whose,
          { ...application, by: DEFAULT_ACTOR },
          at,
        );
        if (rows.length === 0) return;
        applied[decision === 'certify' ? 'certified' : 'revoked'] += rows.length;
        await audit(
          `campaign/${campaignId}/default/${key}`,
          campaignId,
          'campaign.defaulted',
          DEFAULT_ACTOR,
          {
            ...whose,
            decision,
            reason,
            items: rows.map((row) => row.seq),
            ...(input.by && {
              [input.decision === 'revoke' ? 'approvedBy' : 'declinedBy']: input.by,
            }),
          },
        );
      };
      // An admin who declines a mass revocation does not keep their own access by it.
      if (input.decision === 'certify' && input.by) {
        await apply({ identity: input.by }, `own/${input.by}`, {
          decision: 'revoke',
          reason: `default at the deadline; ${input.by} declined the others but may not keep their own access`,
        });
      }
      for (let after = ''; ;) {
        const reviewers = await store.reviewersPage(db, campaignId, after, 500);
        for (const reviewer of reviewers) {
          Context.current().heartbeat(reviewer);
          await apply({ reviewer }, reviewer, input);
        }
        if (reviewers.length < 500) return applied;
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

    /** The admin group as the policy says now, for a campaign that failed before its plan. */
    async adminGroup(): Promise<string> {
      return deps.policy().policy.settings.adminGroup;
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
      // A campaign that stopped early says what its reviewers had decided, none of it applied.
      const unapplied =
        status === 'COMPLETED' ? undefined : await store.decisionTotals(db, campaignId);
      await audit(
        `campaign/${campaignId}/finished`,
        campaignId,
        `campaign.${status.toLowerCase()}`,
        ACTOR,
        {
          remediation: counts,
          ...(unapplied && { decisionsNotApplied: unapplied }),
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
