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
  FAILED: 'FAILED',
} as const;
export type CampaignPhase = (typeof CampaignPhase)[keyof typeof CampaignPhase];

export type Decision = 'certify' | 'revoke';

/** Who is named for what a campaign does by itself; no identity can carry this name. */
export const CAMPAIGN_ACTOR = 'keyward:campaign';

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
  /** Told when the campaign needs an admin; members are looked up when the notice goes out. */
  adminGroup: string;
}

export interface CampaignState {
  campaignId: string;
  phase: CampaignPhase;
  plan?: CampaignPlan;
  reviewersStarted: number;
  /** Reviewers whose part has ended: everything decided, or the deadline passed. */
  reviewersDone: number;
  revoked: number;
  certified: number;
  /** Items the default decision would revoke; above the share, they wait for an admin. */
  defaultRevocations: number;
  confirmedBy?: string;
  /** The admin who refused a mass revocation by default: the undecided items are kept. */
  declinedBy?: string;
  remediation: RemediationCounts;
  /** Why the campaign failed, when it did; the record and the admins' alert say the same. */
  failure?: string;
}

export interface RemediationCounts {
  revoked: number;
  failed: number;
  /** Revocations left alone because a newer approved grant of the same access supersedes them. */
  superseded: number;
  kept: number;
}

/** Totals of a campaign's decisions once its reviewers are done, read from the items' record. */
export interface DecisionTotals {
  certified: number;
  revoked: number;
  undecided: number;
}

/** How the deadline's default is applied to the items nobody decided. */
export interface DefaultApplication {
  decision: Decision;
  reason: string;
  /** Who let a revoking default go ahead, or refused it; the campaign itself otherwise. */
  by?: string;
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
  /** Items left for the campaign to give the default decision. */
  undecided: number;
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
  // A delegated item is its delegate's to answer; the reviewer handed it over.
  const allowed = [item.delegate ?? reviewerId, escalatedTo].filter(Boolean);
  if (allowed.includes(actor)) return undefined;
  if (item.delegate && actor === reviewerId) {
    return `item ${item.seq} was delegated to ${item.delegate}; it is theirs to decide`;
  }
  return `${actor} is not a reviewer of item ${item.seq}`;
}

/** Why a revocation reason cannot be accepted, or undefined. */
export function reasonProblem(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const unsafe = unsafeTextProblem(reason);
  if (unsafe) return `the reason ${unsafe}`;
  return reason.length > MAX_TEXT ? `the reason is longer than ${MAX_TEXT} characters` : undefined;
}

/** Only people review access: a service account in a group or as an owner is passed over. */
const isPerson = (view: PolicyView, id: string) => view.identity(id)?.kind === 'human';

/**
 * Chooses reviewers for a campaign's items. Nobody reviews their own access; an identity without
 * a manager or owner goes to the fallback group. A group's items are shared out so that each
 * eligible member gets as few as possible, rather than all landing on its first member.
 */
export class ReviewerAssigner {
  private readonly load = new Map<string, number>();

  constructor(
    private readonly view: PolicyView,
    private readonly rule: ReviewerRule,
    private readonly fallbackGroup: string,
  ) {}

  reviewerFor(identityId: string): string | undefined {
    const identity = this.view.identity(identityId);
    if (this.rule.startsWith('group:'))
      return this.leastLoaded(this.rule.slice('group:'.length), identityId);
    const candidate =
      this.rule === 'manager' ? identity?.manager : (identity?.owner ?? identity?.manager);
    if (candidate && candidate !== identityId && isPerson(this.view, candidate)) return candidate;
    return this.leastLoaded(this.fallbackGroup, identityId);
  }

  private leastLoaded(group: string, exclude: string): string | undefined {
    const eligible = this.view
      .members(group)
      .filter((member) => member !== exclude && isPerson(this.view, member));
    if (eligible.length === 0) {
      return group === this.fallbackGroup
        ? undefined
        : this.leastLoaded(this.fallbackGroup, exclude);
    }
    // Ties go to the member listed first, so the same policy always shares out the same way.
    const chosen = eligible.reduce((best, member) =>
      (this.load.get(member) ?? 0) < (this.load.get(best) ?? 0) ? member : best,
    );
    this.load.set(chosen, (this.load.get(chosen) ?? 0) + 1);
    return chosen;
  }
}

/**
 * A member of `group` other than `exclude`, the same one every time for the same `key`, so that
 * escalations from different reviewers spread over the group instead of all reaching one person.
 */
export function groupMemberFor(
  view: PolicyView,
  group: string,
  exclude: string,
  key: string,
): string | undefined {
  const eligible = view
    .members(group)
    .filter((member) => member !== exclude && isPerson(view, member));
  if (eligible.length === 0) return undefined;
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return eligible[hash % eligible.length];
}

/** Whether the revocations the default would make exceed the share an admin must confirm. */
export function needsConfirmation(
  defaultRevocations: number,
  items: number,
  share: number,
): boolean {
  return items > 0 && defaultRevocations > 0 && defaultRevocations / items > share;
}

export const reviewerWorkflowId = (campaignId: string, reviewerId: string) =>
  `campaign/${campaignId}/reviewer/${reviewerId}`;
export const campaignWorkflowId = (campaignId: string) => `campaign/${campaignId}`;
export const remediationWorkflowId = (campaignId: string) => `campaign/${campaignId}/remediation`;
