import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  CampaignState,
  DecideInput,
  DelegateInput,
  ReviewerState,
} from '../../domain/campaign';

export {
  campaignWorkflowId,
  remediationWorkflowId,
  reviewerWorkflowId,
} from '../../domain/campaign';

/** What a campaign run hands the next one when its history is long enough to start afresh. */
export interface CampaignCarry {
  state: CampaignState;
  /** While launching: the last reviewer started, so the next run starts the ones after. */
  launchedUpTo?: string;
  /** Reviewers whose part has ended. */
  done: string[];
}

export interface CampaignWorkflowInput {
  campaignId: string;
  carried?: CampaignCarry;
  /** Events a run may hold before it continues as new; smaller only in tests. */
  historyBudget?: number;
}

export interface ReviewerWorkflowInput {
  campaignId: string;
  reviewerId: string;
  launchedAt: string;
  deadlineAt: string;
  remindMs: number[];
  escalateAt?: string;
  /** Carried over continue-as-new, so nobody is told twice. */
  notified?: boolean;
  remindersSent?: number;
  escalated?: boolean;
  escalatedTo?: string;
  /** Delegations so far; each one's audit event and notice is numbered by it. */
  delegations?: number;
  certified?: number;
  revoked?: number;
}

export interface RemediationWorkflowInput {
  campaignId: string;
  /** Set when an admin runs remediation again after the campaign ended. */
  requestedBy?: string;
  /** Carried over continue-as-new. */
  startedAt?: string;
  passes?: number;
  alerted?: boolean;
}

/** Decisions arrive as Updates: a click or a form post learns at once whether it was taken. */
export const decideItemsUpdate = defineUpdate<ReviewerState, [DecideInput]>('decideItems');
export const delegateItemsUpdate = defineUpdate<ReviewerState, [DelegateInput]>('delegateItems');
export const reviewerStatusQuery = defineQuery<ReviewerState>('reviewerStatus');
/** A reviewer workflow tells its campaign that its part has ended. */
export const reviewerDoneSignal = defineSignal<[{ reviewerId: string }]>('reviewerDone');

export const campaignStatusQuery = defineQuery<CampaignState>('campaignStatus');
/** An admin lets a mass revocation by default go ahead. */
export const confirmRevocationsUpdate = defineUpdate<CampaignState, [{ actor: string }]>(
  'confirmRevocations',
);
/** An admin refuses a mass revocation by default: the items nobody decided are kept instead. */
export const declineRevocationsUpdate = defineUpdate<
  CampaignState,
  [{ actor: string; reason?: string }]
>('declineRevocations');
