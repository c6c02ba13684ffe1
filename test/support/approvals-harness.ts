import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { PolicyInput } from '../../domain/policy';
import { LinkSigner } from '../../integrations/email/links';
import { createMailer } from '../../integrations/email/mailer';
import { freePort } from '../../integrations/net/ports';
import { createSlackApp } from '../../integrations/slack/app';
import { SlackDirectory } from '../../integrations/slack/directory';
import { buildApp } from '../../server/app';
import { slackPorts } from '../../server/slack';
import { mintToken } from '../../store/tokens';
import { slackClient } from '../../workers/channels';
import { deliverToSlackEndpoint, FakeSlack } from './fake-slack';
import { JitHarness } from './jit-harness';
import { TestSmtpServer } from './smtp';

/**
 * The approval channels end to end: a worker whose notices go to a loopback Slack Web API and
 * a real SMTP server, and keyward's real HTTP server receiving Slack's signed interactions and
 * the email links' pages.
 */
export class ApprovalsHarness {
  readonly signingSecret = randomBytes(16).toString('hex');
  readonly slack: FakeSlack;
  readonly smtp = new TestSmtpServer();
  readonly jit: JitHarness;
  app!: FastifyInstance;
  baseUrl = '';

  constructor(policy: PolicyInput, slackEmails: Record<string, string> = {}) {
    this.jit = JitHarness.fromDocument(policy);
    this.slack = new FakeSlack({ emails: slackEmails });
  }

  async start(): Promise<void> {
    await Promise.all([this.slack.start(), this.smtp.start()]);
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    const policy = () => this.jit.policy;
    const slackConfig = { botToken: 'xoxb-test-token', apiUrl: this.slack.url };
    const client = slackClient(slackConfig);
    const links = new LinkSigner(this.jit.encryptionKey);
    const mailer = createMailer({ from: 'keyward <keyward@example.test>', smtpUrl: this.smtp.url });
    this.jit.channels = {
      slack: { client, directory: new SlackDirectory(policy, client) },
      mail: { mailer, links, publicUrl: this.baseUrl },
    };
    await this.jit.start();

    const deps = { db: this.jit.db, temporal: this.jit.client, policy, taskQueue: this.jit.taskQueue, logLevel: 'silent' };
    const { receiver } = createSlackApp({
      ...slackConfig,
      signingSecret: this.signingSecret,
      directory: (c) => new SlackDirectory(policy, c),
      ports: slackPorts(deps),
      onError: (err) => process.stderr.write(`slack app: ${String(err)}\n`),
    });
    this.app = buildApp({ ...deps, links, slackReceiver: receiver });
    await this.app.listen({ host: '127.0.0.1', port });
  }

  /** Sends an interaction or command to keyward's Slack endpoint, signed as Slack signs it. */
  deliver(payload: { form?: Record<string, string>; json?: unknown }, options?: { timestamp?: number; signature?: string }) {
    return deliverToSlackEndpoint(`${this.baseUrl}/slack/events`, this.signingSecret, payload, options);
  }

  /** A button click from `userId` on request `requestId`, as Slack sends it. */
  click(userId: string, actionId: 'approve_request' | 'deny_request', requestId: string) {
    const payload = {
      type: 'block_actions',
      user: { id: userId, team_id: 'T0001' },
      team: { id: 'T0001' },
      api_app_id: 'A0001',
      trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
      channel: { id: `D${userId.slice(1)}` },
      container: { type: 'message', channel_id: `D${userId.slice(1)}`, message_ts: '1.0' },
      response_url: this.slack.responseUrl(randomBytes(4).toString('hex')),
      actions: [{ type: 'button', action_id: actionId, block_id: 'decision', value: requestId, action_ts: '1.1' }],
    };
    return this.deliver({ form: { payload: JSON.stringify(payload) } });
  }

  token(identity: string): Promise<string> {
    return mintToken(this.jit.db, identity, 'test');
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.jit.stop();
    await Promise.all([this.slack.stop(), this.smtp.stop()]);
  }
}
