import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  DecisionInput,
  JitState,
  RevokeCause,
  RevokeInput,
  RevokeRetry,
} from '../../domain/jit';
import type { Policy } from '../../domain/policy';

export const JIT_TASK_QUEUE = 'keyward-jit';

export const jitWorkflowId = (requestId: string): string => `jit/${requestId}`;

export interface JitWorkflowInput {
  requestId: string;
  requester: string;
  entitlementId: string;
  durationMs: number;
  reason: string;
  /** The part of the policy this request depends on, as it was when the request was made. */
  policy: Policy;
  /** How a refused revocation is retried; keyward leaves the defaults, tests shorten them. */
  revokeRetry?: Partial<RevokeRetry>;
  /** Set only by a run that handed over to a new one while it kept retrying a revocation. */
  revoking?: RevocationCarry;
}

/** Where a revocation stands between two tries. */
export interface Revocation {
  cause: RevokeCause;
  by: { actor: string; reason?: string };
  /** When access was due to end; lateness is measured from here, in whichever run succeeds. */
  dueAt: string;
  /** The number of the next try, which names its audit record, and the pause after it, should it fail. */
  attempt: number;
  pauseMs: number;
}

/** How the request ends once access is gone, when that is not simply with its state. */
export type Outcome = { cancelled: string } | { failed: string; type?: string };

/** Everything the next run needs to carry on revoking as if it were the same one. */
export interface RevocationCarry {
  state: JitState;
  revocation: Revocation;
  outcome?: Outcome;
}

// Decisions are Updates, not Signals: the caller (a CLI, a Slack click, an email link) learns
// at once whether its decision was accepted, and a rejected one never reaches history.
export const decideUpdate = defineUpdate<JitState, [DecisionInput]>('decide');
export const revokeUpdate = defineUpdate<JitState, [RevokeInput]>('revoke');
export const statusQuery = defineQuery<JitState>('status');
