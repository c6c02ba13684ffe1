import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import type { CampaignDefinition } from '../../domain/policy';
import type { ScheduleSyncResult } from './schedules';

/** Schedules of recurring campaigns; the runs they start are named after them. */
export const CAMPAIGN_SCHEDULE_PREFIX = 'campaigns/';
export const campaignScheduleId = (definitionId: string) => `${CAMPAIGN_SCHEDULE_PREFIX}${definitionId}`;

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
const POLICIES = { overlap: ScheduleOverlapPolicy.SKIP as ScheduleOverlapPolicy, catchupWindow: 86_400_000 };

/** Makes the `campaigns/...` schedules match the policy's recurring campaign definitions. */
export async function syncCampaignSchedules(
  client: Client,
  definitions: readonly CampaignDefinition[],
  options: { taskQueue: string },
): Promise<ScheduleSyncResult> {
  const result: ScheduleSyncResult = { created: [], updated: [], deleted: [], unchanged: [] };
  const recurring = definitions.filter(recurs);
  const wanted = new Set(recurring.map((d) => campaignScheduleId(d.id)));
  for (const definition of recurring) {
    const scheduleId = campaignScheduleId(definition.id);
    const action = actionOf(definition, options.taskQueue);
    try {
      await client.schedule.create({ scheduleId, spec: specOf(definition), action, policies: POLICIES });
      result.created.push(scheduleId);
      continue;
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    const handle = client.schedule.getHandle(scheduleId);
    const described = await handle.describe();
    const memo = described.action.type === 'startWorkflow' ? described.action.memo : undefined;
    if (memo?.spec === action.memo?.spec) {
      result.unchanged.push(scheduleId);
      continue;
    }
    await handle.update((previous) => ({ ...previous, spec: specOf(definition), action, policies: POLICIES }));
    result.updated.push(scheduleId);
  }
  for await (const schedule of client.schedule.list()) {
    if (!schedule.scheduleId.startsWith(CAMPAIGN_SCHEDULE_PREFIX) || wanted.has(schedule.scheduleId)) continue;
    try {
      await client.schedule.getHandle(schedule.scheduleId).delete();
      result.deleted.push(schedule.scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return result;
}
