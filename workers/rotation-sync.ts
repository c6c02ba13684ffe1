import type { Client } from '@temporalio/client';
import type { Credential } from '../domain/policy';
import { syncRotationSchedules } from '../integrations/temporal/schedules';
import type { ScheduleSyncResult } from '../integrations/temporal/schedules';
import { listCredentials, syncCredentials } from '../store/credentials';
import type { Db } from '../store/db';
import { JIT_TASK_QUEUE } from '../workflows/jit/definitions';

/**
 * Brings keyward's credentials and their Temporal Schedules in line with the policy: the store
 * lists exactly its credentials, each has one schedule with its timing, and one that was never
 * rotated is rotated at once. Run on every worker start and by `keyward rotation sync`.
 */
export async function syncRotations(
  db: Db,
  client: Client,
  credentials: readonly Credential[],
  taskQueue = JIT_TASK_QUEUE,
): Promise<ScheduleSyncResult> {
  await syncCredentials(db, [...credentials]);
  const neverRotated = new Set(
    (await listCredentials(db)).filter((c) => !c.last_rotated_at).map((c) => c.id),
  );
  return syncRotationSchedules(client, credentials, {
    taskQueue,
    neverRotated: (id) => neverRotated.has(id),
  });
}
