import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { evaluateRequest, PolicyView } from '../../domain/access';
import type { AuditEventInput } from '../../domain/audit';
import { FailureType } from '../../domain/failures';
import { checkDecision, checkRevoke, JitStatus, quorumReached } from '../../domain/jit';
import type { JitState, RevokeCause } from '../../domain/jit';
import type { JitActivities } from '../../activities/jit';
import type { NotifyActivities } from '../../activities/notify';
import type { NoticeEvent } from '../../domain/notify';
import { decideUpdate, revokeUpdate, statusQuery } from './definitions';
import type { JitWorkflowInput } from './definitions';

const NON_RETRYABLE = [
  FailureType.InvalidInput,
  FailureType.PolicyViolation,
  FailureType.ConnectorPermissionDenied,
  FailureType.ConnectorUnknownObject,
];

const records = proxyActivities<JitActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE },
});

// Target systems can be slow or briefly down; keep trying for an hour before giving up on a grant.
const targets = proxyActivities<JitActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '2 seconds', maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE },
});

// People hear about a request through Slack and email; a channel that is down for ten minutes
// loses that notice rather than holding up the grant or the revocation.
const notifier = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** How long to wait before trying again a revocation that the target refused outright. */
const REVOKE_RETRY_INTERVAL = '10 minutes';

const ENDED = new Set<JitStatus>([JitStatus.REVOKED, JitStatus.CANCELLED, JitStatus.REVOKE_FAILED, JitStatus.FAILED]);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One just-in-time request: evaluate, gather approvals, grant, wait for expiry, revoke.
 * Whatever ends it (expiry, early revoke, cancellation), access that was granted is revoked.
 */
export async function jitWorkflow(input: JitWorkflowInput): Promise<JitState> {
  const { workflowId } = workflowInfo();
  // Evaluated synchronously so that the handlers below exist before the first activation ends:
  // an approval may arrive in the same activation as the start.
  const evaluation = evaluateRequest(new PolicyView(input.policy), input);
  if (!evaluation.ok) {
    throw ApplicationFailure.create({ type: evaluation.type, message: evaluation.message, nonRetryable: true });
  }

  const now = Date.now();
  const state: JitState = {
    requestId: input.requestId,
    requester: input.requester,
    reason: input.reason,
    plan: evaluation.plan,
    status: JitStatus.PENDING,
    createdAt: iso(now),
    approvalDeadline: iso(now + evaluation.plan.approvalWindowMs),
    approvals: [],
  };
  let revokeRequest: { actor: string; reason?: string } | undefined;
  let decisionsBeingRecorded = 0;

  // Notices go out in order, one after another, beside the main flow rather than in its way;
  // each carries the state as it was when it was raised.
  let notices: Promise<void> = Promise.resolve();
  const notify = (event: NoticeEvent, step: string = event) => {
    const input = { event, state: JSON.parse(JSON.stringify(state)) as JitState, key: `${workflowId}/notice/${step}` };
    notices = notices
      .then(() => CancellationScope.nonCancellable(() => notifier.notify(input)))
      .catch(() => log.warn('Notification failed', { event, requestId: state.requestId }));
  };

  const approvalPath = () => state.approvals.map(({ approver, at }) => ({ approver, at }));
  const record = (event: Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string }) => {
    const { step, ...rest } = event;
    return records.recordRequest({
      state: { ...state },
      event: { ...rest, key: `${workflowId}/${step}`, subject: state.requestId, workflowId },
    });
  };

  setHandler(statusQuery, () => state);
  setHandler(
    decideUpdate,
    async (decision) => {
      const at = iso(Date.now());
      if (decision.decision === 'deny') {
        state.denial = { approver: decision.actor, decision: 'deny', reason: decision.reason, at };
        state.status = JitStatus.DENIED;
      } else {
        state.approvals.push({ approver: decision.actor, decision: 'approve', reason: decision.reason, at });
      }
      decisionsBeingRecorded++;
      await record({
        step: `decision/${decision.actor}`,
        actor: decision.actor,
        action: decision.decision === 'deny' ? 'request.denied' : 'request.approved',
        approvalPath: approvalPath(),
        details: decision.reason ? { reason: decision.reason } : undefined,
      });
      decisionsBeingRecorded--;
      notify('decision', `decision/${decision.actor}`);
      if (decision.decision === 'deny') notify('denied');
      // The approval that completes the quorum answers once the grant has been made (or failed).
      await condition(() => state.status !== JitStatus.PENDING || !quorumReached(state));
      return state;
    },
    { validator: (decision) => rejectIf(checkDecision(state, decision)) },
  );
  setHandler(
    revokeUpdate,
    async (request) => {
      revokeRequest = request;
      // Answer once access is really gone, so the caller can rely on what it is told.
      await condition(() => ENDED.has(state.status));
      return state;
    },
    { validator: (request) => rejectIf(checkRevoke(state, request)) },
  );

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
  if (state.plan.required > 0) notify('approval-needed');

  try {
    const decidedInTime = await condition(
      () => state.status !== JitStatus.PENDING || quorumReached(state) || revokeRequest !== undefined,
      evaluation.plan.approvalWindowMs,
    );
    // Let the approvals' audit records land before the grant that they allowed.
    await condition(() => decisionsBeingRecorded === 0);
    if (state.status === JitStatus.DENIED) return finish();
    if (revokeRequest) {
      state.status = JitStatus.CANCELLED;
      state.revokedBy = revokeRequest.actor;
      await record({ step: 'cancelled', actor: revokeRequest.actor, action: 'request.cancelled' });
      notify('cancelled');
      return finish();
    }
    if (!decidedInTime) {
      state.status = JitStatus.EXPIRED;
      await record({ step: 'expired', actor: 'keyward', action: 'request.expired' });
      notify('expired');
      return finish();
    }
    if (state.plan.required > 0) notify('approved');
  } catch (err) {
    if (!isCancellation(err)) throw err;
    state.status = JitStatus.CANCELLED;
    await CancellationScope.nonCancellable(async () => {
      await record({ step: 'cancelled', actor: 'keyward', action: 'request.cancelled' });
      notify('cancelled');
      await notices;
    });
    throw err;
  }

  try {
    const { grantedAt, expiresAt } = await targets.grantAccess({
      requestId: state.requestId,
      ...grantTarget(state),
      identity: state.requester,
      entitlementId: state.plan.entitlementId,
      durationMs: state.plan.durationMs,
      approvals: approvalPath(),
    });
    Object.assign(state, { status: JitStatus.GRANTED, grantedAt, expiresAt });
  } catch (err) {
    if (isCancellation(err)) throw err;
    state.status = JitStatus.FAILED;
    state.failure = failureMessage(err);
    log.warn('Grant failed', { requestId: state.requestId });
    await record({ step: 'grant-failed', actor: 'keyward', action: 'grant.failed', details: { error: state.failure } });
    notify('failed');
    return finish();
  }
  await record({ step: 'granted', actor: 'keyward', action: 'grant.granted', approvalPath: approvalPath() });
  notify('granted');

  let cause: RevokeCause = 'expired';
  let cancellation: unknown;
  try {
    const expiresAt = Date.parse(state.expiresAt!);
    const warnAt = expiresAt - (state.plan.expiryWarningMs ?? 0);
    let endedEarly = false;
    if (state.plan.expiryWarningMs && warnAt > Date.now()) {
      endedEarly = await condition(() => revokeRequest !== undefined, warnAt - Date.now());
      if (!endedEarly) notify('expiring');
    }
    if (!endedEarly) endedEarly = await condition(() => revokeRequest !== undefined, Math.max(1, expiresAt - Date.now()));
    if (endedEarly) cause = 'revoked';
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cause = 'cancelled';
    cancellation = err;
  }

  // Revocation must finish even when the workflow is being cancelled: that is the whole point.
  await CancellationScope.nonCancellable(async () => {
    await revoke(state, cause, revokeRequest, record);
    notify('revoked');
    await notices;
  });
  await condition(allHandlersFinished);
  if (cancellation) throw cancellation;
  return finish();

  async function finish(): Promise<JitState> {
    await notices;
    await condition(allHandlersFinished);
    return state;
  }
}

function rejectIf(refusal: { type: string; message: string } | undefined): void {
  if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
}

function grantTarget(state: JitState) {
  return { systemId: state.plan.systemId, role: state.plan.role, login: state.plan.login };
}

function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

type Recorder = (event: Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string }) => Promise<void>;

async function revoke(
  state: JitState,
  cause: RevokeCause,
  request: { actor: string; reason?: string } | undefined,
  record: Recorder,
): Promise<void> {
  const dueAt = cause === 'expired' ? state.expiresAt! : iso(Date.now());
  const revokedBy = request?.actor ?? 'keyward';
  for (let attempt = 1; ; attempt++) {
    try {
      const { revokedAt, latenessMs } = await targets.revokeAccess({
        requestId: state.requestId,
        ...grantTarget(state),
        dueAt,
        revokedBy,
        cause,
      });
      Object.assign(state, {
        status: JitStatus.REVOKED,
        revokedAt,
        revokeCause: cause,
        revokedBy,
        revokeLatenessMs: latenessMs,
        failure: undefined,
      });
      break;
    } catch (err) {
      // A revocation that retrying could not fix (the target refuses us) must not be forgotten:
      // the grant stays visible as REVOKE_FAILED and is tried again until it succeeds.
      state.status = JitStatus.REVOKE_FAILED;
      state.failure = failureMessage(err);
      await record({
        step: `revoke-failed/${attempt}`,
        actor: 'keyward',
        action: 'grant.revoke_failed',
        details: { error: state.failure },
      });
      await sleep(REVOKE_RETRY_INTERVAL);
    }
  }
  await record({
    step: 'revoked',
    actor: state.revokedBy!,
    action: 'grant.revoked',
    approvalPath: state.approvals.map(({ approver, at }) => ({ approver, at })),
    details: { cause, latenessMs: state.revokeLatenessMs, reason: request?.reason },
  });
}
