import type { RequestPlan, Refusal } from './access';
import { FailureType } from './failures';
import { CAMPAIGN_ACTOR } from './campaign';
import { INCIDENT_ACTOR } from './incident';
import { MAX_TEXT, unsafeTextProblem } from './text';

export const JitStatus = {
  PENDING: 'PENDING',
  DENIED: 'DENIED',
  EXPIRED: 'EXPIRED',
  CANCELLED: 'CANCELLED',
  GRANTED: 'GRANTED',
  REVOKED: 'REVOKED',
  REVOKE_FAILED: 'REVOKE_FAILED',
  FAILED: 'FAILED',
} as const;
export type JitStatus = (typeof JitStatus)[keyof typeof JitStatus];

export interface Decision {
  approver: string;
  decision: 'approve' | 'deny';
  reason?: string;
  at: string;
}

/** Why access ended; `failed` is a request whose own records failed after the grant was made. */
export type RevokeCause = 'expired' | 'revoked' | 'cancelled' | 'failed';

export interface JitState {
  requestId: string;
  requester: string;
  reason: string;
  plan: RequestPlan;
  status: JitStatus;
  createdAt: string;
  approvalDeadline: string;
  approvals: Decision[];
  denial?: Decision;
  grantedAt?: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeCause?: RevokeCause;
  revokeLatenessMs?: number;
  failure?: string;
}

export interface DecisionInput {
  actor: string;
  decision: 'approve' | 'deny';
  reason?: string;
}

export interface RevokeInput {
  actor: string;
  reason?: string;
}

/** "group approvers" or "groups approvers, security", for messages. */
export function groupsText(groups: string[]): string {
  if (groups.length === 0) return 'no group';
  return `${groups.length === 1 ? 'group' : 'groups'} ${groups.join(', ')}`;
}

const refusal = (type: FailureType, message: string): Refusal => ({ type, message });

/**
 * How a revocation that the target refuses is tried again: after `firstMs`, then twice as long
 * each time up to `longestMs`. A run's history may reach `historyBudget` events meanwhile before
 * the workflow continues as new, well under the point where Temporal stops a workflow.
 */
export interface RevokeRetry {
  firstMs: number;
  longestMs: number;
  historyBudget: number;
}

export const REVOKE_RETRY: RevokeRetry = {
  firstMs: 60_000,
  longestMs: 3_600_000,
  historyBudget: 4_000,
};
const LARGEST_HISTORY_BUDGET = 10_000;

/** Whether the retry pace a request was started with is usable; merged over the defaults. */
export function checkRevokeRetry(given: Partial<RevokeRetry> = {}): Refusal | undefined {
  const retry = { ...REVOKE_RETRY, ...given };
  for (const [key, value] of Object.entries(retry)) {
    if (!Number.isInteger(value) || value <= 0) {
      return refusal(
        FailureType.InvalidInput,
        `revokeRetry.${key} must be a positive whole number`,
      );
    }
  }
  if (retry.longestMs < retry.firstMs) {
    return refusal(
      FailureType.InvalidInput,
      'revokeRetry.longestMs must not be shorter than revokeRetry.firstMs',
    );
  }
  if (retry.historyBudget > LARGEST_HISTORY_BUDGET) {
    return refusal(
      FailureType.InvalidInput,
      `revokeRetry.historyBudget must be at most ${LARGEST_HISTORY_BUDGET}`,
    );
  }
  return undefined;
}

/** Messages reach workflows from more than one client: their shape is checked, not trusted. */
function checkShape(input: { actor?: unknown; reason?: unknown }): Refusal | undefined {
  if (typeof input.actor !== 'string' || input.actor.length === 0) {
    return refusal(FailureType.InvalidInput, 'the decision names no actor');
  }
  if (input.reason !== undefined) {
    if (typeof input.reason !== 'string' || input.reason.length > MAX_TEXT) {
      return refusal(
        FailureType.InvalidInput,
        `a reason must be text of at most ${MAX_TEXT} characters`,
      );
    }
    const problem = unsafeTextProblem(input.reason);
    if (problem) return refusal(FailureType.InvalidInput, `the reason ${problem}`);
  }
  return undefined;
}

/** Whether `input` may be applied to the request now; the reason it may not, otherwise. */
export function checkDecision(
  state: JitState,
  input: DecisionInput,
  nowMs = Date.now(),
): Refusal | undefined {
  const shape = checkShape(input);
  if (shape) return shape;
  if (input.decision !== 'approve' && input.decision !== 'deny') {
    return refusal(FailureType.InvalidInput, 'a decision is either approve or deny');
  }
  if (input.actor === state.requester) {
    return refusal(FailureType.NotAllowed, `${input.actor} cannot decide their own request`);
  }
  if (!state.plan.eligibleApprovers.includes(input.actor)) {
    return refusal(
      FailureType.NotAllowed,
      `${input.actor} is not an approver for ${state.plan.entitlementId} ` +
        `(its approvers are the members of ${groupsText(state.plan.approverGroups)})`,
    );
  }
  if (state.status !== JitStatus.PENDING) {
    return refusal(
      FailureType.AlreadyDecided,
      `request ${state.requestId} is already ${state.status.toLowerCase()}`,
    );
  }
  // A worker catching up after downtime may see a decision before the expiry timer fires.
  if (nowMs > Date.parse(state.approvalDeadline)) {
    return refusal(
      FailureType.AlreadyDecided,
      `the approval window of request ${state.requestId} has passed`,
    );
  }
  if (quorumReached(state)) {
    return refusal(FailureType.AlreadyDecided, `request ${state.requestId} is already approved`);
  }
  if (state.approvals.some((a) => a.approver === input.actor)) {
    return refusal(
      FailureType.DuplicateDecision,
      `${input.actor} has already approved request ${state.requestId}`,
    );
  }
  if (input.decision === 'deny' && !input.reason?.trim()) {
    return refusal(FailureType.InvalidInput, 'a denial needs a reason');
  }
  return undefined;
}

/** Whether `actor` may end the request now: the requester or an admin, while it is live. */
export function checkRevoke(state: JitState, input: RevokeInput): Refusal | undefined {
  const shape = checkShape(input);
  if (shape) return shape;
  // keyward ends a quarantined identity's requests, and those a campaign's reviewers revoked,
  // itself; no identity can carry these names.
  const byKeyward = input.actor === INCIDENT_ACTOR || input.actor === CAMPAIGN_ACTOR;
  if (input.actor !== state.requester && !state.plan.admins.includes(input.actor) && !byKeyward) {
    return refusal(FailureType.NotAllowed, `${input.actor} may not end request ${state.requestId}`);
  }
  if (state.status !== JitStatus.PENDING && state.status !== JitStatus.GRANTED) {
    return refusal(
      FailureType.AlreadyDecided,
      `request ${state.requestId} is already ${state.status.toLowerCase()}`,
    );
  }
  return undefined;
}

/** Whether the collected approvals meet the plan's quorum of distinct approvers. */
export function quorumReached(state: JitState): boolean {
  return new Set(state.approvals.map((a) => a.approver)).size >= state.plan.required;
}
