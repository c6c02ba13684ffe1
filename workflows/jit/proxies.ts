import { proxyActivities } from '@temporalio/workflow';
import type { JitActivities } from '../../activities/jit';
import type { NotifyActivities } from '../../activities/notify';
import { NON_RETRYABLE_FAILURES } from '../../domain/failures';

// keyward's own database: retried for as long as it takes, since losing an audit record is worse
// than waiting for the database to come back.
export const records = proxyActivities<JitActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// Target systems can be slow or briefly down; keep trying for an hour before giving up on a call.
export const targets = proxyActivities<JitActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// People hear about a request through Slack and email; a channel that is down for ten minutes
// loses that notice rather than holding up the grant or the revocation.
export const notifier = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});
