import { WebClient } from '@slack/web-api';
import type { PolicyView } from '../domain/access';
import type { NotifyDeps } from '../activities/notify';
import { LinkSigner } from '../integrations/email/links';
import { createMailer } from '../integrations/email/mailer';
import { SlackDirectory } from '../integrations/slack/directory';
import type { RuntimeConfig } from './config';

/** A Slack Web API client; its built-in retry waits out 429s for the Retry-After Slack gives. */
export function slackClient(config: NonNullable<RuntimeConfig['slack']>): WebClient {
  return new WebClient(config.botToken, config.apiUrl ? { slackApiUrl: config.apiUrl } : {});
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
