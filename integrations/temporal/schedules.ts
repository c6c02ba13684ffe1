import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import type { Credential } from '../../domain/policy';
import { ROTATION_SCHEDULE_PREFIX, rotationScheduleId } from '../../domain/rotation';

/** What a rotation schedule is made from; stored on its action so a sync can tell what changed. */
function specKey(credential: Pick<Credential, 'every' | 'cron'>, taskQueue: string): string {
  return JSON.stringify({ every: credential.every ?? null, cron: credential.cron ?? null, taskQueue });
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

/**
 * Makes the `rotation/...` schedules match the policy's credentials: creates the missing ones,
 * updates those whose timing changed (keeping them paused if they were), deletes the ones whose
 * credential is gone. A schedule created for a credential that was never rotated runs at once,
 * when `neverRotated` says so.
 */
export async function syncRotationSchedules(
  client: Client,
  credentials: readonly Credential[],
  options: { taskQueue: string; neverRotated?: (credentialId: string) => boolean },
): Promise<ScheduleSyncResult> {
  const result: ScheduleSyncResult = { created: [], updated: [], deleted: [], unchanged: [] };
  const wanted = new Set(credentials.map((c) => rotationScheduleId(c.id)));

  for (const credential of credentials) {
    const scheduleId = rotationScheduleId(credential.id);
    const action = actionOf(credential, options.taskQueue);
    try {
      await client.schedule.create({
        scheduleId,
        spec: specOf(credential),
        action,
        policies: POLICIES,
        state: { triggerImmediately: options.neverRotated?.(credential.id) ?? false },
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
    await handle.update((previous) => ({ ...previous, spec: specOf(credential), action, policies: POLICIES }));
    result.updated.push(scheduleId);
  }

  for await (const schedule of client.schedule.list()) {
    if (!schedule.scheduleId.startsWith(ROTATION_SCHEDULE_PREFIX) || wanted.has(schedule.scheduleId)) continue;
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
