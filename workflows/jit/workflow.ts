import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { checkRevokeRetry, JitStatus, quorumReached, REVOKE_RETRY } from '../../domain/jit';
import type { JitState, RevokeCause } from '../../domain/jit';
import { acceptDecisions } from './decisions';
import { statusQuery } from './definitions';
import type { JitWorkflowInput, Revocation } from './definitions';
import { targets } from './proxies';
import { failureMessage, rejectIf } from '../shared';
import { newRequest, requestTrail } from './request';
import { errorOf, iso, outcomeOf, revokeUntilDone, targetOf } from './revocation';

/**
 * One just-in-time request: evaluate, gather approvals, grant, wait for expiry, revoke.
 * Once the grant has been asked for, every way out (expiry, early revoke, cancellation, a grant
 * that failed half way) ends with the access revoked. A revocation that the target keeps
 * refusing continues as new now and then, and the next run carries on from the same try.
 */
export async function jitWorkflow(input: JitWorkflowInput): Promise<JitState> {
  const { workflowId } = workflowInfo();
  // Taken while it is the root: whether the workflow was asked to cancel is read from it later.
  const root = CancellationScope.current();
  rejectIf(checkRevokeRetry(input.revokeRetry));
  const retry = { ...REVOKE_RETRY, ...input.revokeRetry };
  // Made synchronously so that the handlers below exist before the first activation ends:
  // an approval may arrive in the same activation as the start.
  const state = input.revoking?.state ?? newRequest(input);
  const trail = requestTrail(state, workflowId);
  const { notify, record, approvalPath, noticesSent } = trail;

  setHandler(statusQuery, () => state);
  const decisions = acceptDecisions(state, trail, input.revoking !== undefined);

  const finish = async (): Promise<JitState> => {
    decisions.settle();
    await noticesSent();
    await condition(allHandlersFinished);
    return state;
  };

  if (input.revoking) {
    const { revocation, outcome } = input.revoking;
    return revokeThenEnd(revocation, errorOf(outcome));
  }

  await record({
    step: 'created',
    actor: input.requester,
    action: 'request.created',
    details: {
      entitlement: state.plan.entitlementId,
      durationMs: state.plan.durationMs,
      reason: input.reason,
      required: state.plan.required,
    },
  });
  decisions.created();
  if (state.plan.required > 0) notify('approval-needed');

  try {
    const decidedInTime = await condition(
      () =>
        state.status !== JitStatus.PENDING ||
        quorumReached(state) ||
        decisions.ending !== undefined,
      state.plan.approvalWindowMs,
    );
    // Let the approvals' audit records land before the grant that they allowed.
    await decisions.recorded();
    if (state.status === JitStatus.DENIED) return await finish();
    if (decisions.ending || !decidedInTime) {
      const cancelled = decisions.ending !== undefined;
      Object.assign(
        state,
        cancelled
          ? { status: JitStatus.CANCELLED, revokedBy: decisions.ending!.actor }
          : { status: JitStatus.EXPIRED },
      );
      await record({
        step: cancelled ? 'cancelled' : 'expired',
        actor: decisions.ending?.actor ?? 'keyward',
        action: cancelled ? 'request.cancelled' : 'request.expired',
      });
      notify(cancelled ? 'cancelled' : 'expired');
      return await finish();
    }
    if (state.plan.required > 0) notify('approved');
  } catch (err) {
    if (!isCancellation(err)) throw err;
    state.status = JitStatus.CANCELLED;
    await CancellationScope.nonCancellable(async () => {
      await record({ step: 'cancelled', actor: 'keyward', action: 'request.cancelled' });
      notify('cancelled');
      await noticesSent();
    });
    throw err;
  }

  let cause: RevokeCause = 'expired';
  // What ends the workflow once access is gone: a cancellation, or a failure after the grant.
  let rethrow: unknown;
  try {
    // The grant and its record run to the end even if a cancellation arrives meanwhile: the
    // cancellation is then seen while holding the grant, and revokes it.
    await CancellationScope.nonCancellable(async () => {
      const granted = await targets.grantAccess({
        ...targetOf(state),
        identity: state.requester,
        entitlementId: state.plan.entitlementId,
        durationMs: state.plan.durationMs,
        approvals: approvalPath(),
      });
      Object.assign(state, { status: JitStatus.GRANTED, ...granted });
      await record({
        step: 'granted',
        actor: 'keyward',
        action: 'grant.granted',
        approvalPath: approvalPath(),
      });
    });
    notify('granted');
    if (await holdUntilExpiry()) cause = 'revoked';
  } catch (err) {
    if (state.status !== JitStatus.GRANTED && !isCancellation(err)) {
      return await CancellationScope.nonCancellable(() => grantFailed(err));
    }
    // Whatever failed once access was granted, the access is not left behind it.
    cause = isCancellation(err) ? 'cancelled' : 'failed';
    rethrow = err;
  }

  const dueAt = cause === 'expired' ? state.expiresAt! : iso(Date.now());
  const by = decisions.ending ?? { actor: 'keyward' };
  return revokeThenEnd({ cause, by, dueAt, attempt: 1, pauseMs: retry.firstMs }, rethrow);

  /** Revokes, then ends the workflow with `endWith` if set, or with the request's state. */
  async function revokeThenEnd(from: Revocation, endWith: unknown): Promise<JitState> {
    // Revocation must finish even when the workflow is being cancelled: that is the whole point.
    await CancellationScope.nonCancellable(async () => {
      await revokeUntilDone(state, from, record, retry, (next) => handOver(next, endWith));
      decisions.settle();
      notify('revoked');
      await noticesSent();
    });
    if (endWith) throw endWith;
    return await finish();
  }

  /** Continues as new from the next try, once this run's notices and update replies are out. */
  async function handOver(next: Revocation, endWith: unknown): Promise<never> {
    await noticesSent();
    await condition(allHandlersFinished);
    const outcome = outcomeOf(endWith, root.consideredCancelled);
    return continueAsNew<typeof jitWorkflow>({
      ...input,
      revoking: { state, revocation: next, outcome },
    });
  }

  /** Waits for expiry, warning the requester before it; true when someone ended it early. */
  async function holdUntilExpiry(): Promise<boolean> {
    const expiresAt = Date.parse(state.expiresAt!);
    const warnAt = expiresAt - state.plan.expiryWarningMs;
    if (state.plan.expiryWarningMs > 0 && warnAt > Date.now()) {
      if (await condition(() => decisions.ending !== undefined, warnAt - Date.now())) return true;
      notify('expiring');
    }
    return condition(() => decisions.ending !== undefined, Math.max(1, expiresAt - Date.now()));
  }

  /**
   * A grant that failed may still have reached the target (a timeout after the GRANT ran), so
   * the membership is withdrawn before the request is closed as failed.
   */
  async function grantFailed(err: unknown): Promise<JitState> {
    Object.assign(state, { status: JitStatus.FAILED, failure: failureMessage(err) });
    log.warn('Grant failed', { requestId: state.requestId });
    await targets
      .withdrawAccess(targetOf(state))
      .catch(() => log.warn('Withdraw failed', { requestId: state.requestId }));
    await record({
      step: 'grant-failed',
      actor: 'keyward',
      action: 'grant.failed',
      details: { error: state.failure },
    });
    notify('failed');
    return finish();
  }
}
