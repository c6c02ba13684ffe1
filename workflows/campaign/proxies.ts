import { proxyActivities } from '@temporalio/workflow';
import type { CampaignActivities } from '../../activities/campaign';
import type { CampaignLaunchActivities } from '../../activities/campaign-launch';
import type { CampaignRemediationActivities } from '../../activities/campaign-remediation';
import type { CampaignNotifyActivities } from '../../activities/campaign-notify';
import type { NotifyActivities } from '../../activities/notify';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../domain/failures';

// keyward's own database: retried for as long as it takes; a decision must not be lost.
export const records = proxyActivities<
  CampaignActivities & CampaignLaunchActivities & CampaignRemediationActivities
>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Revocations on the targets record each item's result themselves; a batch that dies half-way
// runs again and ensureRevoked makes the repeat harmless.
export const remediation = proxyActivities<CampaignRemediationActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// A reviewer's notice that cannot go out in ten minutes is given up on rather than holding up
// the campaign; the review page and the reminders still reach them.
export const notifier = proxyActivities<CampaignNotifyActivities & NotifyActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [FailureType.Misconfigured],
  },
});
