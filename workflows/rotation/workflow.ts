import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { NotifyActivities } from '../../activities/notify';
import type { RotationActivities } from '../../activities/rotation';
import type { RotationWebhookActivities } from '../../activities/rotation-webhooks';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../domain/failures';
import { failedNotice, rollbackSummary, rotatedNotice, RotationStep } from '../../domain/rotation';
import type { RotationState } from '../../domain/rotation';
import { failureMessage } from '../shared';
import { ROTATION_FAILED, rotationStatusQuery } from './definitions';
import type { RotationWorkflowInput } from './definitions';

// keyward's own database and secret store: retried for as long as it takes.
const store = proxyActivities<RotationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Setting and testing on the target get ten minutes of retries; after that the run rolls back.
const target = proxyActivities<RotationActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Putting the previous secret back, and retiring it later, must happen: an hour of retries.
const cleanup = proxyActivities<RotationActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Owners and consumers hear of a rotation through Slack, email and webhooks; a channel that is
// down for ten minutes loses the notice rather than holding up the rotation.
const notifier = proxyActivities<NotifyActivities & RotationWebhookActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [FailureType.Misconfigured],
  },
});

/** Set by Temporal on every run a schedule starts: the time the run was due. */
const SCHEDULED_START = { name: 'TemporalScheduledStartTime', type: 'DATETIME' } as const;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One rotation of one credential: generate a pending version, set it on the target, test it,
 * promote it, and after the overlap window retire the previous one. A failure to set or test
 * puts the previous secret back, checks that it works, alerts the owner and fails the run.
 * Only version ids pass through here; the values never leave the activities.
 */
export async function rotationWorkflow(input: RotationWorkflowInput): Promise<RotationState> {
  const { workflowId } = workflowInfo();
  const { credentialId } = input;
  const state: RotationState = { credentialId, step: RotationStep.PLANNING };
  setHandler(rotationStatusQuery, () => state);

  // Runs the schedule starts after downtime carry the time they were due; one rotation after
  // that time covers them all.
  const scheduledAt =
    workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? new Date(workflowInfo().startTime);
  const planned = await store.planRotation({
    credentialId,
    scheduledAt: scheduledAt.toISOString(),
    ...(input.incident && { incident: input.incident }),
  });
  if (planned.kind === 'skip') {
    state.step = RotationStep.SKIPPED;
    state.skipped = planned.reason;
    return state;
  }
  const { plan } = planned;
  state.plan = plan;

  state.step = RotationStep.GENERATING;
  const { versionId } = await store.createPendingVersion({
    credentialId,
    workflowId,
    login: plan.login,
  });
  state.versionId = versionId;

  try {
    state.step = RotationStep.SETTING;
    if (input.incident === 'containment') {
      await target.setOnTarget({ plan, versionId, quarantined: true });
    } else {
      await target.setOnTarget({ plan, versionId });
      state.step = RotationStep.TESTING;
      await target.testVersion({ credentialId, versionId });
    }
  } catch (err) {
    const failure = { step: state.step, message: failureMessage(err) };
    // Whatever stopped the run, cancellation included, the previous secret goes back first.
    await CancellationScope.nonCancellable(async () => {
      state.step = RotationStep.ROLLING_BACK;
      state.rollback = await cleanup.rollBack({ plan, versionId, workflowId });
      state.failure = failure;
      state.step = RotationStep.FAILED;
      await store.recordRotationFailure({
        plan,
        versionId,
        workflowId,
        failure,
        rollback: state.rollback,
      });
      await notifier
        .tellPeople({
          to: plan.tell,
          key: `${workflowId}/alert`,
          alert: true,
          ...failedNotice(plan, failure, state.rollback),
        })
        .catch(() => log.error('The rotation failure alert could not be sent', { credentialId }));
    });
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: ROTATION_FAILED,
      nonRetryable: true,
      message:
        `rotation of ${credentialId} failed while ${failure.step}: ${failure.message}; ` +
        `previous secret: ${rollbackSummary(state.rollback!)}`,
    });
  }

  state.step = RotationStep.PROMOTING;
  const promoted = await store.promoteVersion({ plan, versionId, workflowId });
  state.promotedAt = promoted.promotedAt;
  state.previousVersionId = promoted.previousVersionId;
  const overlapMs = input.incident ? 0 : plan.overlapMs;
  if (promoted.previousVersionId && overlapMs > 0) {
    state.retireAt = iso(Date.parse(promoted.promotedAt) + overlapMs);
  }
  // Owners and consumers hear of it side by side, and neither holds up the overlap timer.
  const told = Promise.all([
    notifier
      .tellPeople({
        to: plan.tell,
        key: `${workflowId}/rotated`,
        ...rotatedNotice(plan, versionId, promoted.promotedAt, state.retireAt),
      })
      .catch(() => log.warn('The rotation notice could not be sent', { credentialId })),
    notifier
      .callWebhooks({ plan, versionId, workflowId })
      .catch(() => log.warn("The consumers' webhooks could not all be called", { credentialId })),
  ]);

  if (promoted.previousVersionId) {
    const previousVersionId = promoted.previousVersionId;
    // A cancelled overlap ends early; the previous secret is retired all the same.
    const retire = () =>
      CancellationScope.nonCancellable(async () => {
        state.step = RotationStep.RETIRING;
        await cleanup.retirePrevious({
          plan,
          previousVersionId,
          currentVersionId: versionId,
          workflowId,
        });
      });
    if (overlapMs > 0) {
      state.step = RotationStep.OVERLAP;
      try {
        await sleep(overlapMs);
      } catch (err) {
        if (isCancellation(err)) await retire();
        throw err;
      }
    }
    await retire();
  }
  await told;
  state.step = RotationStep.DONE;
  return state;
}
