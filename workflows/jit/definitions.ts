import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DecisionInput, JitState, RevokeInput } from '../../domain/jit';
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
}

// Decisions are Updates, not Signals: the caller (a CLI, a Slack click, an email link) learns
// at once whether its decision was accepted, and a rejected one never reaches history.
export const decideUpdate = defineUpdate<JitState, [DecisionInput]>('decide');
export const revokeUpdate = defineUpdate<JitState, [RevokeInput]>('revoke');
export const statusQuery = defineQuery<JitState>('status');
