import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CampaignPhase,
  needsConfirmation,
  remediationWorkflowId,
  reviewerWorkflowId,
} from '../../domain/campaign';
import type { CampaignPlan, CampaignState, DefaultApplication } from '../../domain/campaign';
import { FailureType } from '../../domain/failures';
import { failureMessage } from '../shared';
import {
  campaignStatusQuery,
  confirmRevocationsUpdate,
  declineRevocationsUpdate,
  reviewerDoneSignal,
} from './definitions';
import type { CampaignCarry, CampaignWorkflowInput } from './definitions';
import { notifier, records } from './proxies';
import { campaignRemediationWorkflow } from './remediation';
import { reviewerWorkflow } from './reviewer';

/** Reviewers started per batch: one page read, then their starts in parallel. */
const LAUNCH_BATCH = 100;
/** Well under Temporal's limits; a run past it hands over to a fresh one. */
const HISTORY_BUDGET = 6_000;

const DEFAULT_REASON = 'default at the deadline';

/**
 * A certification campaign: collect the items, start one reviewer workflow per reviewer in
 * batches, wait until every reviewer's part has ended (all decided, or the deadline passed), give
 * the undecided items the default decision (holding a mass revocation for an admin), then revoke
 * what was rejected on the targets. History grows by a few events per reviewer, never per item,
 * and a run that grows long continues as new; the reviewers outlive it (ABANDON) and report to
 * whichever run is current.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignState> {
  const { campaignId } = input;
  const state: CampaignState = input.carried?.state ?? {
    campaignId,
    phase: CampaignPhase.LAUNCHING,
    reviewersStarted: 0,
    reviewersDone: 0,
    revoked: 0,
    certified: 0,
    defaultRevocations: 0,
    remediation: { revoked: 0, failed: 0, superseded: 0, kept: 0 },
  };
  const done = new Set(input.carried?.done ?? []);
  setHandler(campaignStatusQuery, () => state);
  setHandler(reviewerDoneSignal, ({ reviewerId }) => {
    done.add(reviewerId);
    state.reviewersDone = done.size;
  });
  const holdAnswer = (answer: Pick<CampaignState, 'confirmedBy' | 'declinedBy'>) => {
    Object.assign(state, answer);
    return state;
  };
  setHandler(confirmRevocationsUpdate, ({ actor }) => holdAnswer({ confirmedBy: actor }), {
    validator: (_answer) => validateHoldAnswer(state),
  });
  setHandler(declineRevocationsUpdate, ({ actor }) => holdAnswer({ declinedBy: actor }), {
    validator: (_answer) => validateHoldAnswer(state),
  });

  const budget = input.historyBudget ?? HISTORY_BUDGET;
  const historyFull = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > budget;
  const handOver = async (carry: Omit<CampaignCarry, 'state' | 'done'> = {}): Promise<never> => {
    await condition(allHandlersFinished);
    const carried = { ...carry, state, done: [...done] };
    return continueAsNew<typeof campaignWorkflow>({
      campaignId,
      carried,
      historyBudget: input.historyBudget,
    });
  };

  try {
    state.plan ??= await records.prepareCampaign({ campaignId });
    const plan = state.plan;

    if (state.phase === CampaignPhase.LAUNCHING) {
      const upTo = await launchReviewers(
        state,
        plan,
        input.carried?.launchedUpTo ?? '',
        historyFull,
      );
      if (upTo !== undefined) await handOver({ launchedUpTo: upTo });
      // Reviewing starts once every reviewer workflow exists, so no decision can find its reviewer missing.
      state.phase = CampaignPhase.REVIEWING;
      await records.setCampaignStatus({ campaignId, status: state.phase });
    }

    let application: DefaultApplication | undefined;
    if (state.phase === CampaignPhase.REVIEWING) {
      await condition(() => done.size >= plan.reviewers || historyFull());
      if (done.size < plan.reviewers) await handOver();
      application = await defaultFor(state, plan);
    }
    if (state.phase === CampaignPhase.AWAITING_CONFIRMATION) {
      await condition(() => state.confirmedBy !== undefined || state.declinedBy !== undefined);
      application = state.declinedBy
        ? {
            decision: 'certify',
            reason: `mass revocation by default declined by ${state.declinedBy}`,
            by: state.declinedBy,
          }
        : { decision: 'revoke', reason: DEFAULT_REASON, by: state.confirmedBy };
    }

    // From the first default on, the campaign goes to its end: a cancellation now would leave
    // decisions recorded and not applied, so it is refused and, if it slips through, ignored.
    state.phase = CampaignPhase.REMEDIATING;
    return await CancellationScope.nonCancellable(async () => {
      if (application) await applyDefault(state, application);
      await records.setCampaignStatus({ campaignId, status: state.phase });
      state.remediation = await executeChild(campaignRemediationWorkflow, {
        workflowId: remediationWorkflowId(campaignId),
        args: [{ campaignId }],
      });
      const counts = await records.finishCampaign({
        campaignId,
        status: CampaignPhase.COMPLETED,
        confirmedBy: state.confirmedBy,
        declinedBy: state.declinedBy,
      });
      state.remediation.kept = counts.kept ?? 0;
      state.phase = CampaignPhase.COMPLETED;
      return state;
    });
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    // Whatever stopped the campaign, its reviewers stop too, and the record says how it ended.
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      if (cancelled) {
        state.phase = CampaignPhase.CANCELLED;
      } else {
        state.phase = CampaignPhase.FAILED;
        state.failure = failureMessage(err);
      }
      await records.stopReviewers({ campaignId });
      await records.finishCampaign({ campaignId, status: state.phase, failure: state.failure });
      if (!cancelled) await tellAdminsOfFailure(state);
    });
    throw err;
  }
}

/**
 * Starts the reviewers a page at a time after `after`. Returns the last one started when the
 * history is full and the next run must go on, or undefined once all of them run.
 */
async function launchReviewers(
  state: CampaignState,
  plan: CampaignPlan,
  after: string,
  historyFull: () => boolean,
): Promise<string | undefined> {
  const { campaignId } = state;
  for (;;) {
    // Reviewers come from the database a page at a time; only their ids enter history.
    const page = await records.reviewerPage({ campaignId, after, limit: LAUNCH_BATCH });
    await Promise.all(
      page.map((reviewerId) =>
        startChild(reviewerWorkflow, {
          workflowId: reviewerWorkflowId(campaignId, reviewerId),
          // A reviewer outlives the run that started it; a cancelled or failed campaign stops them itself.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          args: [
            {
              campaignId,
              reviewerId,
              launchedAt: plan.launchedAt,
              deadlineAt: plan.deadlineAt,
              remindMs: plan.remindMs,
              escalateAt: plan.escalateAt,
            },
          ],
        }),
      ),
    );
    state.reviewersStarted += page.length;
    if (page.length < LAUNCH_BATCH) return undefined;
    after = page[page.length - 1];
    if (historyFull()) return after;
  }
}

/**
 * Once every reviewer is done: a keep default is applied at once, a revoke default too unless it
 * would remove more than the allowed share, which waits for an admin instead.
 */
/**
 * Once every reviewer is done: what the undecided items get. A keep default is applied at once,
 * a revoke default too unless it would remove more than the allowed share, in which case the
 * campaign tells the admins and waits for one of them (AWAITING_CONFIRMATION).
 */
async function defaultFor(
  state: CampaignState,
  plan: CampaignPlan,
): Promise<DefaultApplication | undefined> {
  const { campaignId } = state;
  const totals = await records.decisionTotals({ campaignId });
  state.certified = totals.certified;
  state.revoked = totals.revoked;
  if (totals.undecided === 0) return undefined;
  if (plan.defaultDecision === 'keep') return { decision: 'certify', reason: DEFAULT_REASON };
  state.defaultRevocations = totals.undecided;
  if (!needsConfirmation(totals.undecided, plan.items, plan.massRevocationShare)) {
    return { decision: 'revoke', reason: DEFAULT_REASON };
  }
  state.phase = CampaignPhase.AWAITING_CONFIRMATION;
  await records.setCampaignStatus({ campaignId, status: state.phase });
  await notifier.tellPeople({
    to: [plan.adminGroup],
    subject: 'A campaign waits for your confirmation',
    text:
      `The default decision would revoke ${totals.undecided} of ${plan.items} items in campaign ` +
      `${campaignId}; nothing is removed until an admin confirms, and declining keeps them.`,
    facts: [['Campaign', campaignId]],
    key: `campaign/${campaignId}/confirm`,
    alert: true,
  });
  return undefined;
}

async function applyDefault(state: CampaignState, application: DefaultApplication): Promise<void> {
  const applied = await records.applyDefaults({ campaignId: state.campaignId, ...application });
  state.certified += applied.certified;
  state.revoked += applied.revoked;
}

/** Who may answer is the server's to check, against the admin group as it is now. */
function validateHoldAnswer(state: CampaignState): void {
  if (
    state.phase !== CampaignPhase.AWAITING_CONFIRMATION ||
    state.confirmedBy ||
    state.declinedBy
  ) {
    throw ApplicationFailure.nonRetryable(
      'the campaign is not waiting for a confirmation',
      FailureType.AlreadyDecided,
    );
  }
}

async function tellAdminsOfFailure(state: CampaignState): Promise<void> {
  await notifier
    .tellPeople({
      to: [state.plan?.adminGroup ?? (await records.adminGroup())],
      subject: 'A campaign failed',
      text: `Campaign ${state.campaignId} stopped: ${state.failure}. Its reviews are closed; nothing more is revoked.`,
      facts: [['Campaign', state.campaignId]],
      key: `campaign/${state.campaignId}/failed`,
      alert: true,
    })
    .catch(() =>
      log.warn('The admins could not be told of a failed campaign', {
        campaignId: state.campaignId,
      }),
    );
}
