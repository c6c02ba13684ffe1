import {
  ApplicationFailure,
  CancelledFailure,
  isCancellation,
  patched,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditEventInput } from '../../domain/audit';
import { failureMessage } from '../shared';
import { JitStatus } from '../../domain/jit';
import type { JitState, RevokeRetry } from '../../domain/jit';
import type { Outcome, Revocation } from './definitions';
import { targets } from './proxies';

export type Recorder = (
  event: Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string },
) => Promise<void>;

/** Runs recorded before this marker retried a refused revocation in one history, however long. */
const CONTINUES_AS_NEW = 'revocation-continues-as-new';

export const iso = (ms: number) => new Date(ms).toISOString();

export function targetOf(state: JitState) {
  return {
    requestId: state.requestId,
    systemId: state.plan.systemId,
    role: state.plan.role,
    login: state.plan.login,
  };
}

/**
 * Revokes until it succeeds. A revocation that retrying could not fix (the target refuses us)
 * must not be forgotten: the grant reads REVOKE_FAILED, is tried again with a growing pause, and
 * the audit log hears of each new kind of failure once. Months of tries would outgrow one
 * history, so once it is full `handOver` continues the workflow as new from the next try.
 */
export async function revokeUntilDone(
  state: JitState,
  from: Revocation,
  record: Recorder,
  retry: RevokeRetry,
  handOver: (next: Revocation) => Promise<never>,
): Promise<void> {
  const { cause, by, dueAt } = from;
  let pauseMs = from.pauseMs;
  for (let attempt = from.attempt; ; attempt++) {
    try {
      const done = await targets.revokeAccess({
        ...targetOf(state),
        dueAt,
        revokedBy: by.actor,
        cause,
      });
      Object.assign(state, {
        status: JitStatus.REVOKED,
        revokedAt: done.revokedAt,
        revokeCause: cause,
        revokedBy: by.actor,
        revokeLatenessMs: done.latenessMs,
        failure: undefined,
      });
      break;
    } catch (err) {
      const message = failureMessage(err);
      if (message !== state.failure) {
        await record({
          step: `revoke-failed/${attempt}`,
          actor: 'keyward',
          action: 'grant.revoke_failed',
          details: { error: message },
        });
      }
      Object.assign(state, { status: JitStatus.REVOKE_FAILED, failure: message });
      await sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, retry.longestMs);
      if (historyFull(retry.historyBudget) && patched(CONTINUES_AS_NEW)) {
        await handOver({ ...from, attempt: attempt + 1, pauseMs });
      }
    }
  }
  await record({
    step: 'revoked',
    actor: by.actor,
    action: 'grant.revoked',
    approvalPath: state.approvals.map(({ approver, at }) => ({ approver, at })),
    details: { cause, latenessMs: state.revokeLatenessMs, reason: by.reason },
  });
}

function historyFull(budget: number): boolean {
  const { continueAsNewSuggested, historyLength } = workflowInfo();
  return continueAsNewSuggested || historyLength > budget;
}

/**
 * What the workflow is to end with once access is gone: the cancellation or failure that was
 * behind the revocation, or a cancellation requested while it ran. Kept as data for the next run.
 */
export function outcomeOf(rethrow: unknown, cancelRequested: boolean): Outcome | undefined {
  if (isCancellation(rethrow) || (rethrow === undefined && cancelRequested)) {
    return { cancelled: rethrow instanceof Error ? rethrow.message : 'Workflow cancelled' };
  }
  if (rethrow === undefined) return undefined;
  const cause = rethrow instanceof Error ? rethrow.cause : undefined;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
  return { failed: failureMessage(rethrow), type };
}

/** The error a continued run ends with, for the outcome the run before it handed over. */
export function errorOf(outcome: Outcome | undefined): Error | undefined {
  if (!outcome) return undefined;
  if ('cancelled' in outcome) return new CancelledFailure(outcome.cancelled);
  return ApplicationFailure.create({
    message: outcome.failed,
    type: outcome.type,
    nonRetryable: true,
  });
}
