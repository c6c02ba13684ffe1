import { ApplicationFailure } from '@temporalio/workflow';
import { decisionProblem, reasonProblem } from '../../domain/campaign';
import type {
  DecideInput,
  DelegateInput,
  ReviewerItem,
  ReviewerState,
} from '../../domain/campaign';
import { FailureType } from '../../domain/failures';
import type { ReviewerWorkflowInput } from './definitions';

const MAX_BATCH = 1_000;

/** What the reviewer workflow's validators read: its items and whether it still takes decisions. */
export interface ReviewRecord {
  input: ReviewerWorkflowInput;
  items: Map<number, ReviewerItem>;
  state: ReviewerState;
  /** Handlers are set before the items load; until then an update is told to try again. */
  loaded: boolean;
  deadline: number;
}

const refuse = (message: string, type: FailureType) =>
  ApplicationFailure.nonRetryable(message, type);

// The validators run before anything is written: a late, foreign or repeated decision is
// refused with its reason and leaves no trace in history.
function refuseUntilOpen(review: ReviewRecord): void {
  if (!review.loaded) {
    throw refuse(
      "the reviewer's items are still loading; try again in a moment",
      FailureType.NotReady,
    );
  }
  // The clock is read too: an update delivered in the workflow task that fires the deadline
  // timer would otherwise see the reviewer still open.
  if (Date.now() >= review.deadline) {
    throw refuse(
      `the campaign's deadline passed at ${review.input.deadlineAt}; decisions are closed`,
      FailureType.CampaignClosed,
    );
  }
  // Closed early: the reviewer's part ended because every item was decided.
  if (review.state.closed) {
    throw refuse("this reviewer's items are all decided", FailureType.AlreadyDecided);
  }
}

export function validateDecisions(review: ReviewRecord, decide: DecideInput): void {
  refuseUntilOpen(review);
  if (decide.decisions.length === 0 || decide.decisions.length > MAX_BATCH) {
    throw refuse(`send between 1 and ${MAX_BATCH} decisions at a time`, FailureType.InvalidInput);
  }
  const seen = new Set<number>();
  for (const { seq, decision, reason } of decide.decisions) {
    if (seen.has(seq)) throw refuse(`item ${seq} appears twice`, FailureType.InvalidInput);
    seen.add(seq);
    if (decision !== 'certify' && decision !== 'revoke') {
      throw refuse('a decision is certify or revoke', FailureType.InvalidInput);
    }
    const item = review.items.get(seq);
    const problem = decisionProblem(
      item,
      decide.actor,
      review.input.reviewerId,
      review.state.escalatedTo,
    );
    if (problem) {
      const type = problem.includes('already')
        ? FailureType.AlreadyDecided
        : FailureType.NotAllowed;
      throw refuse(problem, item ? type : FailureType.InvalidInput);
    }
    const bad = reasonProblem(reason);
    if (bad) throw refuse(bad, FailureType.InvalidInput);
  }
}

export function validateDelegation(review: ReviewRecord, delegate: DelegateInput): void {
  refuseUntilOpen(review);
  if (delegate.seqs.length === 0) {
    throw refuse('name the items to delegate', FailureType.InvalidInput);
  }
  if (delegate.to === delegate.actor) {
    throw refuse('delegate to somebody else', FailureType.InvalidInput);
  }
  for (const seq of delegate.seqs) {
    const item = review.items.get(seq);
    const problem = decisionProblem(
      item,
      delegate.actor,
      review.input.reviewerId,
      review.state.escalatedTo,
    );
    if (problem) throw refuse(problem, item ? FailureType.NotAllowed : FailureType.InvalidInput);
    if (item!.identity === delegate.to) {
      throw refuse(`${delegate.to} may not review their own access`, FailureType.NotAllowed);
    }
  }
}
