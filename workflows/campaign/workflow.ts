import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  setHandler,
  sleep,
  startChild,
} from '@temporalio/workflow';
import { CampaignPhase, needsConfirmation, reviewerWorkflowId } from '../../domain/campaign';
import type { CampaignState, ReviewerOutcome } from '../../domain/campaign';
import { FailureType } from '../../domain/failures';
import { campaignStatusQuery, confirmRevocationsUpdate } from './definitions';
import type { CampaignWorkflowInput } from './definitions';
import { notifier, records, remediation } from './proxies';
import { reviewerWorkflow } from './reviewer';

/** Reviewers started per batch: one page read, then their starts in parallel. */
const LAUNCH_BATCH = 100;
const REMEDIATION_BATCH = 200;
/** Passes over failed revocations before they are reported and left for an operator. */
const REMEDIATION_ATTEMPTS = 3;

/**
 * A certification campaign: collect the items, start one reviewer workflow per reviewer in
 * batches, wait for all of them to reach their deadline (or finish early), hold a mass revocation
 * by default for an admin's confirmation, then revoke what was rejected on the targets.
 * History grows by about three events per reviewer and per remediation batch, never per item.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignState> {
  const { campaignId } = input;
  const state: CampaignState = {
    campaignId,
    phase: CampaignPhase.LAUNCHING,
    reviewersStarted: 0,
    reviewersDone: 0,
    revoked: 0,
    certified: 0,
    defaultRevocations: 0,
    remediation: { revoked: 0, failed: 0, kept: 0 },
  };
  setHandler(campaignStatusQuery, () => state);
  setHandler(
    confirmRevocationsUpdate,
    ({ actor }) => {
      state.confirmedBy = actor;
      return state;
    },
    {
      validator: ({ actor }) => {
        if (state.phase !== CampaignPhase.AWAITING_CONFIRMATION) {
          throw ApplicationFailure.nonRetryable(
            'the campaign is not waiting for a confirmation',
            FailureType.AlreadyDecided,
          );
        }
        if (!state.plan?.admins.includes(actor)) {
          throw ApplicationFailure.nonRetryable(`${actor} is not an admin`, FailureType.NotAllowed);
        }
      },
    },
  );

  try {
    const plan = await records.prepareCampaign({ campaignId });
    state.plan = plan;

    // Reviewers come from the database a page at a time; only their ids enter history.
    const outcomes: Promise<ReviewerOutcome>[] = [];
    for (let after = ''; ;) {
      const page = await records.reviewerPage({ campaignId, after, limit: LAUNCH_BATCH });
      const started = await Promise.all(
        page.map((reviewerId) =>
          startChild(reviewerWorkflow, {
            workflowId: reviewerWorkflowId(campaignId, reviewerId),
            args: [
              {
                campaignId,
                reviewerId,
                launchedAt: plan.launchedAt,
                deadlineAt: plan.deadlineAt,
                remindMs: plan.remindMs,
                escalateAt: plan.escalateAt,
                defaultDecision: plan.defaultDecision,
              },
            ],
          }),
        ),
      );
      for (const child of started) {
        outcomes.push(
          child.result().then((outcome) => {
            state.reviewersDone++;
            state.certified += outcome.certified;
            state.revoked += outcome.revoked;
            state.defaultRevocations += outcome.defaultRevoked;
            return outcome;
          }),
        );
      }
      state.reviewersStarted += page.length;
      if (page.length < LAUNCH_BATCH) break;
      after = page[page.length - 1];
    }
    // Reviewing starts once every reviewer workflow exists, so no decision can find its reviewer missing.
    state.phase = CampaignPhase.REVIEWING;
    await records.setCampaignStatus({ campaignId, status: state.phase });
    await Promise.all(outcomes);

    if (needsConfirmation(state.defaultRevocations, plan.items, plan.massRevocationShare)) {
      state.phase = CampaignPhase.AWAITING_CONFIRMATION;
      await records.setCampaignStatus({ campaignId, status: state.phase });
      await notifier.tellPeople({
        to: plan.admins,
        subject: 'A campaign waits for your confirmation',
        text:
          `The default decision would revoke ${state.defaultRevocations} of ${plan.items} items in campaign ` +
          `${campaignId}; nothing is removed until an admin confirms.`,
        facts: [['Campaign', campaignId]],
        key: `campaign/${campaignId}/confirm`,
        alert: true,
      });
      await condition(() => state.confirmedBy !== undefined);
    }

    state.phase = CampaignPhase.REMEDIATING;
    await records.setCampaignStatus({ campaignId, status: state.phase });
    // Failed revocations stay failed in the record with their message, and get two more passes.
    for (let attempt = 1; attempt <= REMEDIATION_ATTEMPTS; attempt++) {
      let failed = 0;
      for (;;) {
        const batch = await remediation.remediateBatch({
          campaignId,
          maxAttempts: attempt,
          limit: REMEDIATION_BATCH,
        });
        state.remediation.revoked += batch.revoked;
        failed += batch.failed;
        if (!batch.more) break;
      }
      state.remediation.failed = failed;
      if (failed === 0) break;
      if (attempt < REMEDIATION_ATTEMPTS) await sleep(attempt * 10_000);
    }
    if (state.remediation.failed > 0) {
      await notifier.tellPeople({
        to: plan.admins,
        subject: 'Campaign revocations failed',
        text: `${state.remediation.failed} revocations of campaign ${campaignId} failed after retries; see its export.`,
        facts: [['Campaign', campaignId]],
        key: `campaign/${campaignId}/remediation-failed`,
        alert: true,
      });
    }
    const counts = await records.finishCampaign({
      campaignId,
      status: CampaignPhase.COMPLETED,
      confirmedBy: state.confirmedBy,
    });
    state.remediation.kept = counts.kept ?? 0;
    state.phase = CampaignPhase.COMPLETED;
    return state;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelling applies no defaults and revokes nothing; the record still has to say so.
    await CancellationScope.nonCancellable(() =>
      records.finishCampaign({ campaignId, status: CampaignPhase.CANCELLED }),
    );
    state.phase = CampaignPhase.CANCELLED;
    throw err;
  }
}
