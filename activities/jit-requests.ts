import { log } from '@temporalio/activity';
import { WorkflowUpdateStage } from '@temporalio/client';
import type { WorkflowClient } from '@temporalio/client';
import { MAX_TEXT } from '../domain/text';
import { jitWorkflowId, revokeUpdate } from '../workflows/jit/definitions';

/**
 * Ends a JIT request through its own workflow, so the request records its revocation itself and
 * frees its identity to ask again: a pending one is cancelled, a granted one revokes and ends.
 * Only the update's acceptance is awaited. Returns false when the request is ending or has ended
 * already (another revoke, its expiry), as there is nothing left to stop.
 */
export async function endRequest(
  workflows: Pick<WorkflowClient, 'getHandle'>,
  request: { id: string; workflowId: string | null },
  revoke: { actor: string; reason: string },
): Promise<boolean> {
  try {
    await workflows
      .getHandle(request.workflowId || jitWorkflowId(request.id))
      .startUpdate(revokeUpdate, {
        args: [{ actor: revoke.actor, reason: revoke.reason.slice(0, MAX_TEXT) }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
    return true;
  } catch (err) {
    log.info('A request could not be ended; it is ending already', {
      requestId: request.id,
      error: String(err),
    });
    return false;
  }
}
