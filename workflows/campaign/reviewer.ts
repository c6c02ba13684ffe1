import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { campaignWorkflowId, decisionProblem, reasonProblem } from '../../domain/campaign';
import type {
  DecideInput,
  DelegateInput,
  ReviewerItem,
  ReviewerOutcome,
  ReviewerState,
} from '../../domain/campaign';
import { FailureType } from '../../domain/failures';
import {
  decideItemsUpdate,
  delegateItemsUpdate,
  reviewerDoneSignal,
  reviewerStatusQuery,
} from './definitions';
import type { ReviewerWorkflowInput } from './definitions';
import { notifier, records } from './proxies';

const PAGE = 1_000;
const MAX_BATCH = 1_000;
/** Well under Temporal's hard limits, so a reviewer with thousands of single clicks stays small. */
const HISTORY_BUDGET = 4_000;

const refuse = (message: string, type: FailureType) =>
  ApplicationFailure.nonRetryable(message, type);

/**
 * One reviewer's part of a campaign: tells them once, reminds and escalates while items are
 * pending, and takes their decisions until the deadline. What is left undecided then gets the
 * default from the campaign, which may first have to ask an admin. The items stay in the
 * database; this workflow holds only what it needs to refuse bad decisions.
 */
export async function reviewerWorkflow(input: ReviewerWorkflowInput): Promise<ReviewerOutcome> {
  const { campaignId, reviewerId } = input;
  const items = new Map<number, ReviewerItem>();
  // Handlers are set before the items load, so an update arriving in that moment is told to try
  // again (the clients do) instead of being rejected for want of a handler.
  let loaded = false;
  const deadline = Date.parse(input.deadlineAt);
  const counts = { certified: input.certified ?? 0, revoked: input.revoked ?? 0 };
  const pendingCount = () => [...items.values()].filter((item) => !item.decided).length;
  const state: ReviewerState = {
    reviewerId,
    pending: 0,
    decided: 0,
    closed: Date.now() >= deadline,
    escalatedTo: input.escalatedTo,
    remindersSent: input.remindersSent ?? 0,
  };
  setHandler(reviewerStatusQuery, () => state);
  const refuseUntilLoaded = () => {
    if (!loaded)
      throw refuse(
        "the reviewer's items are still loading; try again in a moment",
        FailureType.NotReady,
      );
  };
  // The clock is read too: an update delivered in the workflow task that fires the deadline
  // timer would otherwise see the reviewer still open.
  const refuseWhenClosed = () => {
    if (Date.now() >= deadline) {
      throw refuse(
        `the campaign's deadline passed at ${input.deadlineAt}; decisions are closed`,
        FailureType.CampaignClosed,
      );
    }
    // Closed early: the reviewer's part ended because every item was decided.
    if (state.closed)
      throw refuse("this reviewer's items are all decided", FailureType.AlreadyDecided);
  };

  // The validator runs before anything is written: a late, foreign or repeated decision is
  // refused with its reason and leaves no trace in history.
  const validateDecisions = (decide: DecideInput) => {
    refuseUntilLoaded();
    refuseWhenClosed();
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
      const problem = decisionProblem(items.get(seq), decide.actor, reviewerId, state.escalatedTo);
      if (problem) {
        const type = problem.includes('already')
          ? FailureType.AlreadyDecided
          : FailureType.NotAllowed;
        throw refuse(problem, items.has(seq) ? type : FailureType.InvalidInput);
      }
      const bad = reasonProblem(reason);
      if (bad) throw refuse(bad, FailureType.InvalidInput);
    }
  };

  setHandler(
    decideItemsUpdate,
    async (decide) => {
      // Marked before the write, so a second update racing this one is refused by its validator.
      for (const { seq, decision } of decide.decisions) {
        items.get(seq)!.decided = true;
        counts[decision === 'certify' ? 'certified' : 'revoked']++;
      }
      state.pending = pendingCount();
      state.decided = items.size - state.pending;
      await records.recordDecisions({
        ...decide,
        campaignId,
        reviewerId,
        at: new Date(Date.now()).toISOString(),
      });
      return state;
    },
    { validator: validateDecisions },
  );

  setHandler(
    delegateItemsUpdate,
    async (delegate: DelegateInput) => {
      for (const seq of delegate.seqs) items.get(seq)!.delegate = delegate.to;
      await records.recordDelegation({ ...delegate, campaignId, reviewerId });
      await notifier.noticeReviewer({
        campaignId,
        reviewerId: delegate.to,
        kind: 'delegated',
        from: delegate.actor,
      });
      return state;
    },
    {
      validator: (delegate: DelegateInput) => {
        refuseUntilLoaded();
        refuseWhenClosed();
        if (delegate.seqs.length === 0)
          throw refuse('name the items to delegate', FailureType.InvalidInput);
        if (delegate.to === delegate.actor)
          throw refuse('delegate to somebody else', FailureType.InvalidInput);
        for (const seq of delegate.seqs) {
          const item = items.get(seq);
          const problem = decisionProblem(item, delegate.actor, reviewerId, state.escalatedTo);
          if (problem)
            throw refuse(problem, item ? FailureType.NotAllowed : FailureType.InvalidInput);
          if (item!.identity === delegate.to) {
            throw refuse(`${delegate.to} may not review their own access`, FailureType.NotAllowed);
          }
        }
      },
    },
  );

  for (let after = 0; ;) {
    const page = await records.loadReviewerItems({
      campaignId,
      reviewerId,
      afterSeq: after,
      limit: PAGE,
    });
    for (const item of page) items.set(item.seq, item);
    if (page.length < PAGE) break;
    after = page[page.length - 1].seq;
  }
  state.pending = pendingCount();
  state.decided = items.size - state.pending;
  loaded = true;

  const tell = async (notice: Parameters<typeof notifier.noticeReviewer>[0]) => {
    try {
      await notifier.noticeReviewer(notice);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('A campaign notice could not be sent', {
        campaignId,
        reviewerId,
        kind: notice.kind,
      });
    }
  };

  if (!input.notified && state.pending > 0) await tell({ campaignId, reviewerId, kind: 'launch' });

  // Whoever now answers for a pending item is reminded: its delegate if it has one, the reviewer
  // otherwise, and after an escalation also the person it went to.
  const remindees = () => {
    const to = new Set<string>();
    for (const item of items.values()) if (!item.decided) to.add(item.delegate ?? reviewerId);
    if (state.escalatedTo) to.add(state.escalatedTo);
    return [...to];
  };

  const reminders = [...input.remindMs].sort((a, b) => b - a).map((lead) => deadline - lead);
  let escalated = input.escalated ?? false;
  const historyFull = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_BUDGET;

  while (state.pending > 0 && Date.now() < deadline) {
    const escalateAt = input.escalateAt && !escalated ? Date.parse(input.escalateAt) : Infinity;
    const remindAt = reminders[state.remindersSent] ?? Infinity;
    const next = Math.min(deadline, escalateAt, remindAt);
    const woken = await condition(
      () => state.pending === 0 || historyFull(),
      Math.max(0, next - Date.now()),
    );
    if (woken && state.pending > 0) {
      // Decisions in flight finish before the run hands over, or their replies would be lost.
      await condition(allHandlersFinished);
      await continueAsNew<typeof reviewerWorkflow>({
        ...input,
        notified: true,
        remindersSent: state.remindersSent,
        escalated,
        escalatedTo: state.escalatedTo,
        ...counts,
      });
    }
    if (woken || state.pending === 0) break;
    if (next === remindAt && next < deadline) {
      state.remindersSent++;
      const round = state.remindersSent;
      await Promise.all(
        remindees().map((to) => tell({ campaignId, reviewerId: to, kind: 'reminder', round })),
      );
    } else if (next === escalateAt && next < deadline) {
      escalated = true;
      const to = await records.escalationTarget({ campaignId, reviewerId });
      if (to) {
        state.escalatedTo = to;
        await records.recordEscalation({ campaignId, reviewerId, to });
        await tell({ campaignId, reviewerId: to, kind: 'escalated', from: reviewerId });
      }
    }
  }

  // Closed before anything else runs: no decision is taken after the deadline, even one that
  // arrives while the campaign is being told.
  state.closed = true;
  await condition(allHandlersFinished);
  try {
    await getExternalWorkflowHandle(campaignWorkflowId(campaignId)).signal(reviewerDoneSignal, {
      reviewerId,
    });
  } catch (err) {
    // A campaign that was cancelled or failed has nobody left to tell.
    if (isCancellation(err)) throw err;
    log.warn('The campaign did not take the end of a review', { campaignId, reviewerId });
  }
  return { reviewerId, ...counts, undecided: pendingCount() };
}
