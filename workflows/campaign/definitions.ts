import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CampaignState, DecideInput, DelegateInput, ReviewerState } from '../../domain/campaign';
import type { DefaultDecision } from '../../domain/policy';

export { campaignWorkflowId, reviewerWorkflowId } from '../../domain/campaign';

export interface CampaignWorkflowInput {
  campaignId: string;
}

export interface ReviewerWorkflowInput {
  campaignId: string;
  reviewerId: string;
  launchedAt: string;
  deadlineAt: string;
  remindMs: number[];
  escalateAt?: string;
  defaultDecision: DefaultDecision;
  /** Carried over continue-as-new, so nobody is told twice. */
  notified?: boolean;
  remindersSent?: number;
  escalated?: boolean;
  escalatedTo?: string;
  certified?: number;
  revoked?: number;
}

/** Decisions arrive as Updates: a click or a form post learns at once whether it was taken. */
export const decideItemsUpdate = defineUpdate<ReviewerState, [DecideInput]>('decideItems');
export const delegateItemsUpdate = defineUpdate<ReviewerState, [DelegateInput]>('delegateItems');
export const reviewerStatusQuery = defineQuery<ReviewerState>('reviewerStatus');

export const campaignStatusQuery = defineQuery<CampaignState>('campaignStatus');
/** An admin lets a mass revocation by default go ahead. */
export const confirmRevocationsUpdate = defineUpdate<CampaignState, [{ actor: string }]>('confirmRevocations');
