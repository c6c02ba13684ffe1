import { createHash } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ReviewerAssigner } from '../domain/campaign';
import type { CampaignPlan } from '../domain/campaign';
import { specFromDefinition } from '../domain/campaign-spec';
import { FailureType } from '../domain/failures';
import * as store from '../store/campaigns';
import {
  CAMPAIGN_ACTOR as ACTOR,
  campaignAudit,
  campaignSpec,
  fallbackGroupOf,
} from './campaign-common';
import type { CampaignDeps } from './campaign-common';
import { collectItems } from './campaign-scope';

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

/**
 * The campaign id of a definition's occurrence, named after the time it was due (to the second)
 * so a run the schedule repeats records the same campaign. The stamp is kept whole; a definition
 * id too long to fit is shortened and given a hash of itself, so no two definitions share ids.
 */
export function occurrenceId(definitionId: string, scheduledAt: string): string {
  const stamp = scheduledAt.slice(0, 19).replace(/[-:]/g, '');
  const room = 63 - stamp.length - 1;
  if (definitionId.length <= room) return `${definitionId}-${stamp}`;
  const hash = createHash('sha256').update(definitionId).digest('hex').slice(0, 6);
  return `${definitionId.slice(0, room - hash.length - 1)}-${hash}-${stamp}`;
}

/** Launching campaigns: collecting their items, recording recurring occurrences, paging reviewers. */
export function createCampaignLaunchActivities(deps: Omit<CampaignDeps, 'workflows'>) {
  const { db } = deps;
  const audit = campaignAudit(db);

  return {
    /**
     * Collects every item in scope, assigns its reviewer and writes them all to the database. The
     * items never travel through history: the workflow gets back only counts and dates.
     */
    async prepareCampaign(input: { campaignId: string }): Promise<CampaignPlan> {
      return heartbeating(async () => {
        const spec = await campaignSpec(db, input.campaignId);
        const view = deps.policy();
        const group = fallbackGroupOf(view, spec);
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
        // A retry keeps the launch time of the first attempt, which the audit event has recorded.
        const recorded = (await store.findCampaign(db, input.campaignId))?.launchedAt;
        const launched = recorded ? new Date(recorded) : new Date();
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
          adminGroup: view.policy.settings.adminGroup,
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
      const campaignId = occurrenceId(definition.id, input.scheduledAt);
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
      // A repeated run finds its own occurrence; a campaign of another origin under the id is a fault.
      const found = await store.findCampaign(db, campaignId);
      if (found?.definitionId !== definition.id) {
        throw ApplicationFailure.nonRetryable(
          `campaign ${campaignId} exists and is not an occurrence of ${definition.id}`,
          FailureType.Misconfigured,
        );
      }
      return { campaignId };
    },

    async reviewerPage(input: {
      campaignId: string;
      after: string;
      limit: number;
    }): Promise<string[]> {
      return store.reviewersPage(db, input.campaignId, input.after, input.limit);
    },
  };
}

export type CampaignLaunchActivities = ReturnType<typeof createCampaignLaunchActivities>;
