import type { PolicyView } from './access';
import type { DefaultDecision, ReviewerRule } from './policy';
import { MAX_TEXT, unsafeTextProblem } from './text';

/**
 * Access certification campaigns as workflows, activities and clients speak of them. Items live
 * in the database; only ids, counts and settings travel through workflow history. Nothing here
 * pulls in zod or the policy schema, so workflows can import it.
 */

export const CampaignPhase = {
  LAUNCHING: 'LAUNCHING',
  REVIEWING: 'REVIEWING',
  AWAITING_CONFIRMATION: 'AWAITING_CONFIRMATION',
  REMEDIATING: 'REMEDIATING',
  COMPLETED: 'COMPLETED',
  CANCELLED: 'CANCELLED',
} as const;
export type CampaignPhase = (typeof CampaignPhase)[keyof typeof CampaignPhase];

export type Decision = 'certify' | 'revoke';

/** The most items one request may name: what a reviewer workflow takes in one update. */
export const MAX_ITEMS = 1_000;
/** Items are numbered from 1 within their campaign; the bound keeps a typo from reaching SQL as a huge value. */
export const MAX_SEQ = 10_000_000;

/** What `prepareCampaign` found and settled, fixed for the rest of the campaign. */
export interface CampaignPlan {
  campaignId: string;
  items: number;
  reviewers: number;
  deadlineAt: string;
  launchedAt: string;
  remindMs: number[];
  escalateAt?: string;
  defaultDecision: DefaultDecision;
  massRevocationShare: number;
  admins: string[];
}

export interface CampaignState {
  campaignId: string;
  phase: CampaignPhase;
  plan?: CampaignPlan;
  reviewersStarted: number;
  reviewersDone: number;
  revoked: number;
  certified: number;
  /** Revocations that the default decision would make, waiting for an admin to confirm. */
  defaultRevocations: number;
  confirmedBy?: string;
  remediation: { revoked: number; failed: number; kept: number };
}

/** One reviewer's items as the reviewer workflow keeps them: just enough to validate decisions. */
export interface ReviewerItem {
  seq: number;
  identity: string;
  decided: boolean;
  delegate?: string;
}

export interface ItemDecision {
  seq: number;
  decision: Decision;
  reason?: string;
}

export interface DecideInput {
  actor: string;
  decisions: ItemDecision[];
  /** Where the decision came from, for the audit log: slack, review-page, api. */
  channel: string;
}

export interface DelegateInput {
  actor: string;
  seqs: number[];
  to: string;
}

export interface ReviewerState {
  reviewerId: string;
  pending: number;
  decided: number;
  closed: boolean;
  escalatedTo?: string;
  remindersSent: number;
}

export interface ReviewerOutcome {
  reviewerId: string;
  certified: number;
  revoked: number;
  defaultRevoked: number;
}

/**
 * The item's reviewer, or why a decision by `actor` is refused. People act on items that are theirs,
 * delegated to them or escalated to them, and never on their own access.
 */
export function decisionProblem(
  item: ReviewerItem | undefined,
  actor: string,
  reviewerId: string,
  escalatedTo: string | undefined,
): string | undefined {
  if (!item) return 'no such item for this reviewer';
  if (item.identity === actor) return `${actor} may not review their own access`;
  if (item.decided) return `item ${item.seq} is already decided`;
  const allowed = [reviewerId, item.delegate, escalatedTo].filter(Boolean);
  if (!allowed.includes(actor)) return `${actor} is not a reviewer of item ${item.seq}`;
  return undefined;
}

/** Why a revocation reason cannot be accepted, or undefined. */
export function reasonProblem(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const unsafe = unsafeTextProblem(reason);
  if (unsafe) return `the reason ${unsafe}`;
  return reason.length > MAX_TEXT ? `the reason is longer than ${MAX_TEXT} characters` : undefined;
}

/** The fallback group's first member who is not `exclude`. */
export function fallbackReviewer(view: PolicyView, group: string, exclude: string): string | undefined {
  return view.members(group).find((member) => member !== exclude);
}

/**
 * Who reviews `identityId`'s access under `rule`. Nobody reviews their own access, and an identity
 * without a manager or owner falls back to the fallback group.
 */
export function reviewerFor(
  view: PolicyView,
  identityId: string,
  rule: ReviewerRule,
  fallbackGroup: string,
): string | undefined {
  const identity = view.identity(identityId);
  let candidate: string | undefined;
  if (rule === 'manager') candidate = identity?.manager;
  else if (rule === 'owner') candidate = identity?.owner ?? identity?.manager;
  else candidate = view.members(rule.slice('group:'.length)).find((member) => member !== identityId);
  if (candidate && candidate !== identityId && view.identity(candidate)) return candidate;
  return fallbackReviewer(view, fallbackGroup, identityId);
}

/** Whether the revocations the default would make exceed the share an admin must confirm. */
export function needsConfirmation(defaultRevocations: number, items: number, share: number): boolean {
  return items > 0 && defaultRevocations > 0 && defaultRevocations / items > share;
}

export const reviewerWorkflowId = (campaignId: string, reviewerId: string) =>
  `campaign/${campaignId}/reviewer/${reviewerId}`;
export const campaignWorkflowId = (campaignId: string) => `campaign/${campaignId}`;
