import { ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';
import { evaluateRequest, PolicyView } from '../../domain/access';
import { JitStatus } from '../../domain/jit';
import type { JitState } from '../../domain/jit';
import type { NoticeEvent } from '../../domain/notify';
import type { JitWorkflowInput } from './definitions';
import { notifier, records } from './proxies';
import { iso } from './revocation';
import type { Recorder } from './revocation';

// A request's state from the policy, and the audit records and notices a run writes of it.

/** A new request's state, once the policy allows it; a refusal fails the workflow. */
export function newRequest(input: JitWorkflowInput): JitState {
  const evaluation = evaluateRequest(new PolicyView(input.policy), input);
  if (!evaluation.ok) {
    throw ApplicationFailure.create({
      type: evaluation.type,
      message: evaluation.message,
      nonRetryable: true,
    });
  }
  const now = Date.now();
  return {
    requestId: input.requestId,
    requester: input.requester,
    reason: input.reason,
    plan: evaluation.plan,
    status: JitStatus.PENDING,
    createdAt: iso(now),
    approvalDeadline: iso(now + evaluation.plan.approvalWindowMs),
    approvals: [],
  };
}

/** Writes the request's audit records and sends its notices, each with the state as it is then. */
export function requestTrail(state: JitState, workflowId: string) {
  // Notices go out in order, one after another, beside the main flow rather than in its way;
  // each carries the state as it was when it was raised.
  let notices: Promise<void> = Promise.resolve();
  const notify = (event: NoticeEvent, step: string = event) => {
    const notice = {
      event,
      state: JSON.parse(JSON.stringify(state)) as JitState,
      key: `${workflowId}/notice/${step}`,
    };
    notices = notices
      .then(() => CancellationScope.nonCancellable(() => notifier.notify(notice)))
      .catch(() => log.warn('Notification failed', { event, requestId: state.requestId }));
  };

  const approvalPath = () => state.approvals.map(({ approver, at }) => ({ approver, at }));
  const record: Recorder = ({ step, ...event }) =>
    records.recordRequest({
      state: JSON.parse(JSON.stringify(state)) as JitState,
      event: { ...event, key: `${workflowId}/${step}`, subject: state.requestId, workflowId },
    });

  return { notify, record, approvalPath, noticesSent: () => notices };
}

export type RequestTrail = ReturnType<typeof requestTrail>;
