import { condition, setHandler } from '@temporalio/workflow';
import { FailureType } from '../../domain/failures';
import { checkDecision, checkRevoke, JitStatus, quorumReached } from '../../domain/jit';
import type { JitState, RevokeInput } from '../../domain/jit';
import { rejectIf } from '../shared';
import { decideUpdate, revokeUpdate } from './definitions';
import type { RequestTrail } from './request';
import { iso } from './revocation';

// The updates a request answers: approvers' decisions, and a revoke that ends it early.

/** What the workflow reads of the decisions, and what it tells them of its own progress. */
export interface Decisions {
  /** The revoke asked for, once one came. */
  readonly ending: RevokeInput | undefined;
  /** The request's own record is written: decisions may be recorded after it. */
  created(): void;
  /** The outcome is on target systems and in the records: a revoke waiting for it is answered. */
  settle(): void;
  /** Resolves once no decision's audit record is still being written. */
  recorded(): Promise<void>;
}

/** Answers the request's updates; set up before the first await, so none arrives unheard. */
export function acceptDecisions(
  state: JitState,
  { record, notify, approvalPath }: RequestTrail,
  alreadyCreated: boolean,
): Decisions {
  let ending: RevokeInput | undefined;
  let createdRecorded = alreadyCreated;
  // True once the request's outcome is on target systems and in the records; only notices remain.
  let settled = false;
  let decisionsBeingRecorded = 0;

  setHandler(
    decideUpdate,
    async (decision) => {
      // The decision's audit record must follow the request's own. Validators of decisions that
      // arrive together all run before any handler, so the check is made again after the wait.
      await condition(() => createdRecorded);
      rejectIf(checkDecision(state, decision));
      const at = iso(Date.now());
      if (decision.decision === 'deny') {
        state.denial = { approver: decision.actor, decision: 'deny', reason: decision.reason, at };
        state.status = JitStatus.DENIED;
      } else {
        state.approvals.push({
          approver: decision.actor,
          decision: 'approve',
          reason: decision.reason,
          at,
        });
      }
      decisionsBeingRecorded++;
      try {
        await record({
          step: `decision/${decision.actor}`,
          actor: decision.actor,
          action: decision.decision === 'deny' ? 'request.denied' : 'request.approved',
          approvalPath: approvalPath(),
          details: decision.reason ? { reason: decision.reason } : undefined,
        });
      } finally {
        decisionsBeingRecorded--;
      }
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
      ending = request;
      // Answer once access is really gone and recorded, so the caller can rely on what it is told.
      await condition(() => settled || state.status === JitStatus.REVOKE_FAILED);
      return state;
    },
    {
      validator: (request) =>
        rejectIf(
          checkRevoke(state, request) ??
            (ending && {
              type: FailureType.AlreadyDecided,
              message: `request ${state.requestId} is already being ended by ${ending.actor}`,
            }),
        ),
    },
  );

  return {
    get ending() {
      return ending;
    },
    created() {
      createdRecorded = true;
    },
    settle() {
      settled = true;
    },
    recorded: () => condition(() => decisionsBeingRecorded === 0),
  };
}
