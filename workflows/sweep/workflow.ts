import { proxyActivities } from '@temporalio/workflow';
import type { ReconcileActivities, Sweep } from '../../activities/reconcile';

const { sweepOrphanedGrants } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
});

/** One pass of the safety net; a Temporal Schedule runs it every few minutes. */
export async function sweepWorkflow(): Promise<Sweep> {
  return sweepOrphanedGrants();
}
