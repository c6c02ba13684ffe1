import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { campaignWorkflowId } from '../../domain/campaign';
import type { DelegateInput, ReviewerOutcome } from '../../domain/campaign';
import type { ReviewNotice } from '../../activities/campaign-notify';
import {
  decideItemsUpdate,
  delegateItemsUpdate,
  reviewerDoneSignal,
  reviewerStatusQuery,
} from './definitions';
import type { ReviewerWorkflowInput } from './definitions';
import { notifier, records } from './proxies';
import { validateDecisions, validateDelegation } from './reviewer-rules';
import type { ReviewRecord } from './reviewer-rules';

const PAGE = 1_000;
/** Well under Temporal's hard limits, so a reviewer with thousands of single clicks stays small. */
const HISTORY_BUDGET = 4_000;

/** What the handlers and the main loop share while one run of a reviewer's workflow lasts. */
interface Review extends ReviewRecord {
  counts: { certified: number; revoked: number };
  delegations: number;
  /** Notices the handlers asked for; the main loop sends them, so no update waits on a mail server. */
  outbox: ReviewNotice[];
}

/**
 * One reviewer's part of a campaign: tells them once, reminds and escalates while items are
 * pending, and takes their decisions until the deadline. What is left undecided then gets the
 * default from the campaign, which may first have to ask an admin. The items stay in the
 * database; this workflow holds only what it needs to refuse bad decisions.
 */
export async function reviewerWorkflow(input: ReviewerWorkflowInput): Promise<ReviewerOutcome> {
  const { campaignId, reviewerId } = input;
  const deadline = Date.parse(input.deadlineAt);
  const review: Review = {
    input,
    items: new Map(),
    state: {
      reviewerId,
      pending: 0,
      decided: 0,
      closed: Date.now() >= deadline,
      escalatedTo: input.escalatedTo,
      remindersSent: input.remindersSent ?? 0,
    },
    counts: { certified: input.certified ?? 0, revoked: input.revoked ?? 0 },
    loaded: false,
    deadline,
    delegations: input.delegations ?? 0,
    outbox: [],
  };
  setHandlers(review);
  await loadItems(review);
  if (!input.notified && review.state.pending > 0) {
    await tell(review, { campaignId, reviewerId, kind: 'launch' });
  }
  await reviewUntilDeadline(review);

  // Closed before anything else runs: no decision is taken after the deadline, even one that
  // arrives while the campaign is being told.
  review.state.closed = true;
  await condition(allHandlersFinished);
  await flushOutbox(review);
  try {
    await getExternalWorkflowHandle(campaignWorkflowId(campaignId)).signal(reviewerDoneSignal, {
      reviewerId,
    });
  } catch (err) {
    // A campaign that was cancelled or failed has nobody left to tell.
    if (isCancellation(err)) throw err;
    log.warn('The campaign did not take the end of a review', { campaignId, reviewerId });
  }
  return { reviewerId, ...review.counts, undecided: pendingCount(review) };
}

const pendingCount = (review: Review) =>
  [...review.items.values()].filter((item) => !item.decided).length;

function refreshCounts(review: Review): void {
  review.state.pending = pendingCount(review);
  review.state.decided = review.items.size - review.state.pending;
}

function setHandlers(review: Review): void {
  const { campaignId, reviewerId } = review.input;
  setHandler(reviewerStatusQuery, () => review.state);
  setHandler(
    decideItemsUpdate,
    async (decide) => {
      // Marked before the write, so a second update racing this one is refused by its validator.
      for (const { seq, decision } of decide.decisions) {
        review.items.get(seq)!.decided = true;
        review.counts[decision === 'certify' ? 'certified' : 'revoked']++;
      }
      refreshCounts(review);
      const at = new Date(Date.now()).toISOString();
      await records.recordDecisions({ ...decide, campaignId, reviewerId, at });
      return review.state;
    },
    { validator: (decide) => validateDecisions(review, decide) },
  );
  setHandler(
    delegateItemsUpdate,
    async (delegate: DelegateInput) => {
      for (const seq of delegate.seqs) review.items.get(seq)!.delegate = delegate.to;
      const delegation = ++review.delegations;
      await records.recordDelegation({ ...delegate, campaignId, reviewerId, delegation });
      review.outbox.push({
        campaignId,
        reviewerId: delegate.to,
        kind: 'delegated',
        from: delegate.actor,
        round: delegation,
      });
      return review.state;
    },
    { validator: (delegate) => validateDelegation(review, delegate) },
  );
}

async function loadItems(review: Review): Promise<void> {
  const { campaignId, reviewerId } = review.input;
  for (let afterSeq = 0; ;) {
    const page = await records.loadReviewerItems({ campaignId, reviewerId, afterSeq, limit: PAGE });
    for (const item of page) review.items.set(item.seq, item);
    if (page.length < PAGE) break;
    afterSeq = page[page.length - 1].seq;
  }
  refreshCounts(review);
  review.loaded = true;
}

/** A notice that cannot go out is logged and given up: the review page still reaches them. */
async function tell(review: Review, notice: ReviewNotice): Promise<void> {
  try {
    await notifier.noticeReviewer(notice);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('A campaign notice could not be sent', {
      campaignId: notice.campaignId,
      reviewerId: review.input.reviewerId,
      kind: notice.kind,
    });
  }
}

async function flushOutbox(review: Review): Promise<void> {
  while (review.outbox.length > 0) await tell(review, review.outbox.shift()!);
}

/**
 * Whoever now answers for a pending item is reminded: its delegate if it has one, the reviewer
 * otherwise, and after an escalation also the person it went to.
 */
function remindees(review: Review): string[] {
  const to = new Set<string>();
  for (const item of review.items.values()) {
    if (!item.decided) to.add(item.delegate ?? review.input.reviewerId);
  }
  if (review.state.escalatedTo) to.add(review.state.escalatedTo);
  return [...to];
}

/**
 * Waits for decisions until the deadline or until nothing is pending, sending reminders and the
 * escalation on time and the handlers' notices as they come. A run whose history grows long
 * hands over to a fresh one.
 */
async function reviewUntilDeadline(review: Review): Promise<void> {
  const { input, state } = review;
  const { campaignId, reviewerId } = input;
  const reminders = [...input.remindMs].sort((a, b) => b - a).map((lead) => review.deadline - lead);
  let escalated = input.escalated ?? false;
  const historyFull = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_BUDGET;

  while (state.pending > 0 && Date.now() < review.deadline) {
    const escalateAt = input.escalateAt && !escalated ? Date.parse(input.escalateAt) : Infinity;
    const remindAt = reminders[state.remindersSent] ?? Infinity;
    const next = Math.min(review.deadline, escalateAt, remindAt);
    const woken = await condition(
      () => state.pending === 0 || review.outbox.length > 0 || historyFull(),
      Math.max(0, next - Date.now()),
    );
    if (review.outbox.length > 0) {
      await flushOutbox(review);
      continue;
    }
    if (state.pending === 0) return;
    if (woken) {
      // Decisions in flight finish before the run hands over, or their replies would be lost.
      await condition(allHandlersFinished);
      await flushOutbox(review);
      await continueAsNew<typeof reviewerWorkflow>({
        ...input,
        notified: true,
        remindersSent: state.remindersSent,
        escalated,
        escalatedTo: state.escalatedTo,
        delegations: review.delegations,
        ...review.counts,
      });
    }
    if (next === remindAt && next < review.deadline) {
      state.remindersSent++;
      const round = state.remindersSent;
      await Promise.all(
        remindees(review).map((to) =>
          tell(review, { campaignId, reviewerId: to, kind: 'reminder', round }),
        ),
      );
    } else if (next === escalateAt && next < review.deadline) {
      escalated = true;
      const to = await records.escalationTarget({ campaignId, reviewerId });
      if (to) {
        // The workflow accepts the new reviewer's decisions before the record says they may.
        state.escalatedTo = to;
        await records.recordEscalation({ campaignId, reviewerId, to });
        await tell(review, { campaignId, reviewerId: to, kind: 'escalated', from: reviewerId });
      }
    }
  }
}
