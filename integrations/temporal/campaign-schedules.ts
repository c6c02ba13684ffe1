import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import type { CampaignDefinition } from '../../domain/policy';
import { syncSchedules } from './schedules';
import type { ScheduleSyncResult } from './schedules';

/**
 * Schedules of recurring campaigns; the runs they start are named after them, with the time each
 * was due: campaign-schedule/<definitionId>-<time>. Not campaign/<definitionId>: those runs would
 * share the campaign/ prefix of campaign workflows, and a listing by a campaign's id (campaign/q)
 * would take in the runs of a definition whose id begins with it (campaign/q-2027-01-01T09:00:00Z).
 */
export const CAMPAIGN_SCHEDULE_PREFIX = 'campaign-schedule/';
export const campaignScheduleId = (definitionId: string) =>
  `${CAMPAIGN_SCHEDULE_PREFIX}${definitionId}`;
/** What these schedules were called before; a sync removes any left under it. */
export const RETIRED_CAMPAIGN_SCHEDULE_PREFIX = 'campaigns/';

const recurs = (d: CampaignDefinition) => d.every !== undefined || d.cron !== undefined;

function specOf(definition: CampaignDefinition): ScheduleSpec {
  return definition.cron
    ? { cronExpressions: [definition.cron], timezone: 'UTC' }
    : { intervals: [{ every: definition.every! }] };
}

function actionOf(definition: CampaignDefinition, taskQueue: string): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: 'scheduledCampaignWorkflow',
    taskQueue,
    workflowId: campaignScheduleId(definition.id),
    args: [{ definitionId: definition.id }],
    // The whole definition is compared, so any change to it (scope, deadline) updates the schedule.
    memo: { spec: JSON.stringify({ definition, taskQueue }) },
  };
}

// A campaign still running when the next is due is not doubled; one missed while keyward was down
// is started when it returns, if that is within a day.
const POLICIES = {
  overlap: ScheduleOverlapPolicy.SKIP as ScheduleOverlapPolicy,
  catchupWindow: 86_400_000,
};

/** Makes the `campaign-schedule/...` schedules match the policy's recurring campaign definitions. */
export function syncCampaignSchedules(
  client: Client,
  definitions: readonly CampaignDefinition[],
  options: { taskQueue: string },
): Promise<ScheduleSyncResult> {
  return syncSchedules(
    client,
    CAMPAIGN_SCHEDULE_PREFIX,
    definitions.filter(recurs).map((definition) => ({
      scheduleId: campaignScheduleId(definition.id),
      spec: specOf(definition),
      action: actionOf(definition, options.taskQueue),
      policies: POLICIES,
    })),
    [RETIRED_CAMPAIGN_SCHEDULE_PREFIX],
  );
}
