import { WebClient } from '@slack/web-api';
import type { PolicyView } from '../domain/access';
import type { NotifyDeps } from '../activities/notify';
import { LinkSigner } from '../integrations/email/links';
import { createMailer } from '../integrations/email/mailer';
import { SlackDirectory } from '../integrations/slack/directory';
import type { RuntimeConfig } from './config';

/**
 * The worker's Slack client. It does not retry on its own and answers within ten seconds:
 * Temporal retries the activity instead, waiting out a 429 for the Retry-After Slack gives, so
 * an attempt Temporal has given up on can never post a second copy later.
 */
export function slackClient(config: NonNullable<RuntimeConfig['slack']>): WebClient {
  return new WebClient(config.botToken, {
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
  });
}

/**
 * The notification channels the configuration turns on. A channel that is off is said once,
 * here, and everything else works without it.
 */
export function notificationChannels(
  config: RuntimeConfig,
  policy: () => PolicyView,
  say: (line: string) => void,
): Omit<NotifyDeps, 'db' | 'policy'> {
  const channels: Omit<NotifyDeps, 'db' | 'policy'> = {};
  if (config.slack) {
    const client = slackClient(config.slack);
    channels.slack = { client, directory: new SlackDirectory(policy, client) };
  } else {
    say('Slack is off: SLACK_BOT_TOKEN is not set.');
  }
  const { smtpUrl, outboxDir, from } = config.email;
  if (smtpUrl || outboxDir) {
    const mailer = createMailer({ from, smtpUrl, outboxDir });
    channels.mail = {
      mailer,
      links: new LinkSigner(config.encryptionKey),
      publicUrl: config.publicUrl,
      // In the dev stack mail lands in files; the links are printed so people can click them.
      printLinks: mailer.kind === 'files' ? say : undefined,
    };
  } else {
    say('Email is off: neither SMTP_URL nor KEYWARD_MAIL_DIR is set.');
  }
  return channels;
}
