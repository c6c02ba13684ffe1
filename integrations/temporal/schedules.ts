import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import type { Credential } from '../../domain/policy';
import { ROTATION_SCHEDULE_PREFIX, rotationScheduleId } from '../../domain/rotation';

/** What a rotation schedule is made from; stored on its action so a sync can tell what changed. */
function specKey(credential: Pick<Credential, 'every' | 'cron'>, taskQueue: string): string {
  return JSON.stringify({
    every: credential.every ?? null,
    cron: credential.cron ?? null,
    taskQueue,
  });
}

function specOf(credential: Pick<Credential, 'every' | 'cron'>): ScheduleSpec {
  return credential.cron
    ? { cronExpressions: [credential.cron], timezone: 'UTC' }
    : { intervals: [{ every: credential.every! }] };
}

function actionOf(credential: Credential, taskQueue: string): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: 'rotationWorkflow',
    taskQueue,
    // Temporal adds the time each run was due: rotation/<credentialId>-<scheduled time>.
    workflowId: rotationScheduleId(credential.id),
    args: [{ credentialId: credential.id }],
    memo: { spec: specKey(credential, taskQueue) },
  };
}

const POLICIES = {
  // Two rotations of one credential never run at once: a run due while another is still going
  // (in its overlap window, say) is skipped.
  overlap: ScheduleOverlapPolicy.SKIP as ScheduleOverlapPolicy,
  // Runs missed while Temporal or the workers were down are taken when they return, however
  // long that was; the workflow itself makes all but the first of them a no-op.
  catchupWindow: 365 * 86_400_000,
};

export interface ScheduleSyncResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

/** One schedule as the policy wants it; its action's memo says what it was made from. */
export interface WantedSchedule {
  scheduleId: string;
  spec: ScheduleSpec;
  action: ScheduleOptionsAction;
  policies: typeof POLICIES;
  /** Runs at once when it is created. */
  triggerImmediately?: boolean;
}

/**
 * Makes the schedules whose ids start with `prefix` match `wanted`: creates the missing ones,
 * updates those whose memo changed (keeping them paused if they were), deletes the others, and
 * deletes every schedule under a `retired` prefix, the name an earlier version gave them.
 */
export async function syncSchedules(
  client: Client,
  prefix: string,
  wanted: readonly WantedSchedule[],
  retired: readonly string[] = [],
): Promise<ScheduleSyncResult> {
  const result: ScheduleSyncResult = { created: [], updated: [], deleted: [], unchanged: [] };
  const ids = new Set(wanted.map((w) => w.scheduleId));
  for (const { scheduleId, spec, action, policies, triggerImmediately } of wanted) {
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        policies,
        state: { triggerImmediately },
      });
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
    await handle.update((previous) => ({ ...previous, spec, action, policies }));
    result.updated.push(scheduleId);
  }

  const unwanted = (id: string) =>
    (id.startsWith(prefix) && !ids.has(id)) || retired.some((old) => id.startsWith(old));
  for await (const schedule of client.schedule.list()) {
    if (!unwanted(schedule.scheduleId)) continue;
    try {
      await client.schedule.getHandle(schedule.scheduleId).delete();
      result.deleted.push(schedule.scheduleId);
    } catch (err) {
      // Listing lags behind deletion; one already gone is what was wanted.
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return result;
}

/**
 * Makes the `rotation/...` schedules match the policy's credentials. A schedule created for a
 * credential that was never rotated runs at once, when `neverRotated` says so.
 */
export function syncRotationSchedules(
  client: Client,
  credentials: readonly Credential[],
  options: { taskQueue: string; neverRotated?: (credentialId: string) => boolean },
): Promise<ScheduleSyncResult> {
  return syncSchedules(
    client,
    ROTATION_SCHEDULE_PREFIX,
    credentials.map((credential) => ({
      scheduleId: rotationScheduleId(credential.id),
      spec: specOf(credential),
      action: actionOf(credential, options.taskQueue),
      policies: POLICIES,
      triggerImmediately: options.neverRotated?.(credential.id) ?? false,
    })),
  );
}
