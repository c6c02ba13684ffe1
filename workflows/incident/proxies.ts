import { proxyActivities } from '@temporalio/workflow';
import type { IncidentActivities } from '../../activities/incident';
import type { NotifyActivities } from '../../activities/notify';
import { NON_RETRYABLE_FAILURES } from '../../domain/failures';

// keyward's own database: retried for as long as it takes.
export const records = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// A compromised login must lose its access however long its system is down, so there is no
// schedule-to-close: a system that comes back after an hour is contained the moment it answers.
export const systems = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '15 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Notices beside containment; a channel that is down for ten minutes loses the notice.
export const notifier = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});
