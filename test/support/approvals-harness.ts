import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { JitState } from '../../domain/jit';
import type { PolicyInput } from '../../domain/policy';
import { LinkSigner } from '../../integrations/email/links';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { freePort } from '../../integrations/net/ports';
import { createSlackApp } from '../../integrations/slack/app';
import { SlackDirectory } from '../../integrations/slack/directory';
import { buildApp } from '../../server/app';
import { slackPorts } from '../../server/slack';
import { mintToken } from '../../store/tokens';
import { notificationChannels } from '../../workers/channels';
import type { RuntimeConfig } from '../../workers/config';
import { jitWorkflowId, revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import { deliverToSlackEndpoint, FakeSlack } from './fake-slack';
import { JitHarness } from './jit-harness';
import { targetEntitlement, targetSystem } from './policies';
import { uniqueName } from './servers';
import { TestSmtpServer } from './smtp';
import type { ReceivedMail } from './smtp';
import { waitFor } from './wait';

export interface ApprovalsHarnessOptions {
  /** Slack user id → email, what Slack's directory knows (users.info, users.lookupByEmail). */
  slackEmails?: Record<string, string>;
  /** The From of keyward's mail. */
  from?: string;
  /** With false, the configuration has no Slack at all: no bot token, no Slack endpoint. */
  slack?: boolean;
}

type SlackPayload = { form?: Record<string, string>; json?: unknown };
type Signing = { timestamp?: number; signature?: string };

/**
 * The approval channels end to end: a worker whose notices go to a loopback Slack Web API and
 * a real SMTP server, and keyward's real HTTP server receiving Slack's signed interactions and
 * the email links' pages. The worker's channels come from the configuration, as in production.
 */
export class ApprovalsHarness {
  readonly signingSecret = randomBytes(16).toString('hex');
  readonly slack: FakeSlack;
  readonly smtp = new TestSmtpServer();
  readonly jit: JitHarness;
  /** What the worker's set-up said about its channels. */
  readonly said: string[] = [];
  app!: FastifyInstance;
  baseUrl = '';
  private readonly requestIds = new Set<string>();

  constructor(
    policy: PolicyInput,
    private readonly options: ApprovalsHarnessOptions = {},
  ) {
    this.jit = JitHarness.fromDocument(policy);
    this.slack = new FakeSlack({ emails: options.slackEmails });
  }

  get links(): LinkSigner {
    return new LinkSigner(this.jit.encryptionKey);
  }

  /** The worker signs review links under the same key. */
  get reviewLinks(): ReviewLinkSigner {
    return new ReviewLinkSigner(this.jit.encryptionKey);
  }

  async start(): Promise<void> {
    await Promise.all([this.slack.start(), this.smtp.start()]);
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    const policy = () => this.jit.policy;
    const config = this.config();
    this.jit.channels = notificationChannels(config, policy, (line) => this.said.push(line));
    await this.jit.start();

    const deps = {
      db: this.jit.db,
      temporal: this.jit.client,
      policy,
      taskQueue: this.jit.taskQueue,
      logLevel: 'silent',
    };
    const receiver = config.slack
      ? createSlackApp({
          ...config.slack,
          directory: (c) => new SlackDirectory(policy, c),
          ports: slackPorts({ ...deps, publicUrl: this.baseUrl, reviewLinks: this.reviewLinks }),
          onError: (err) => process.stderr.write(`slack app: ${String(err)}\n`),
        }).receiver
      : undefined;
    this.app = buildApp({
      ...deps,
      links: this.links,
      reviewLinks: this.reviewLinks,
      slackReceiver: receiver,
    });
    await this.app.listen({ host: '127.0.0.1', port });
  }

  /** The runtime configuration a deployment would read from its environment. */
  config(): RuntimeConfig {
    return {
      databaseUrl: 'postgres://unused',
      temporalAddress: 'unused',
      namespace: 'default',
      encryptionKey: this.jit.encryptionKey,
      policyFile: 'unused',
      apiHost: '127.0.0.1',
      apiPort: 0,
      logLevel: 'warn',
      publicUrl: this.baseUrl,
      slack:
        this.options.slack === false
          ? undefined
          : {
              botToken: 'xoxb-test-token',
              signingSecret: this.signingSecret,
              apiUrl: this.slack.url,
            },
      email: {
        from: this.options.from ?? 'keyward <keyward@example.test>',
        smtpUrl: this.smtp.url,
      },
    };
  }

  /** Starts a request's workflow directly (one live request per person and entitlement); `finish` ends it. */
  async request(
    input: {
      requester?: string;
      entitlementId?: string;
      durationMs?: number;
      reason?: string;
    } = {},
  ) {
    const handle = await this.jit.request({
      requester: input.requester ?? 'alice',
      entitlementId: input.entitlementId ?? 'target/analyst',
      durationMs: input.durationMs ?? 600_000,
      reason: input.reason ?? 'ticket 4411',
    });
    const { requestId } = await handle.query(statusQuery);
    this.track(requestId);
    return { handle, requestId };
  }

  /** Remembers a request started some other way (a slash command, a modal) so `finish` ends it. */
  track(requestId: string): void {
    this.requestIds.add(requestId);
  }

  handle(requestId: string) {
    return this.jit.client.workflow.getHandle(jitWorkflowId(requestId));
  }

  status(requestId: string): Promise<JitState> {
    return this.handle(requestId).query(statusQuery);
  }

  /**
   * Ends every request started so far: cancels what is pending, revokes what was granted, and
   * waits for each workflow to finish, so that no notice is still on its way when the next test
   * starts counting Slack calls and mail.
   */
  async finish(): Promise<void> {
    const ids = [...this.requestIds];
    this.requestIds.clear();
    await Promise.all(ids.map((id) => this.end(id)));
  }

  private async end(requestId: string): Promise<void> {
    const handle = this.handle(requestId);
    if ((await handle.describe()).status.name !== 'RUNNING') return;
    const state = await handle.query(statusQuery);
    if (state.status === 'PENDING' || state.status === 'GRANTED') {
      await handle
        .executeUpdate(revokeUpdate, { args: [{ actor: state.requester }] })
        .catch(() => undefined);
    }
    const ended = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
    ]);
    if (!ended) await handle.terminate('the test has ended');
  }

  /** Sends a payload to keyward's Slack endpoint, signed as Slack signs it unless `signing` says otherwise. */
  deliver(payload: SlackPayload, signing?: Signing) {
    return deliverToSlackEndpoint(
      `${this.baseUrl}/slack/events`,
      this.signingSecret,
      payload,
      signing,
    );
  }

  /** A button click from `userId` on request `requestId`, as Slack sends it. */
  click(userId: string, actionId: string, requestId: string, signing?: Signing) {
    const payload = {
      type: 'block_actions',
      user: { id: userId, team_id: 'T0001' },
      team: { id: 'T0001' },
      api_app_id: 'A0001',
      trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
      channel: { id: `D${userId.slice(1)}` },
      container: { type: 'message', channel_id: `D${userId.slice(1)}`, message_ts: '1.0' },
      response_url: this.slack.responseUrl(randomBytes(4).toString('hex')),
      actions: [
        {
          type: 'button',
          action_id: actionId,
          block_id: 'decision',
          value: requestId,
          action_ts: '1.1',
        },
      ],
    };
    return this.deliver({ form: { payload: JSON.stringify(payload) } }, signing);
  }

  /** A modal submitted by `userId`; `values` maps block id → action id → element state. */
  submitView(
    userId: string,
    view: {
      callbackId: string;
      privateMetadata?: string;
      values: Record<string, Record<string, unknown>>;
    },
  ) {
    const payload = {
      type: 'view_submission',
      team: { id: 'T0001', domain: 'example' },
      user: { id: userId, team_id: 'T0001' },
      api_app_id: 'A0001',
      trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
      view: {
        id: `V${randomBytes(4).toString('hex').toUpperCase()}`,
        team_id: 'T0001',
        type: 'modal',
        callback_id: view.callbackId,
        private_metadata: view.privateMetadata ?? '',
        state: { values: view.values },
        hash: randomBytes(4).toString('hex'),
        app_id: 'A0001',
        bot_id: 'BKEYWARD',
      },
      response_urls: [],
    };
    return this.deliver({ form: { payload: JSON.stringify(payload) } });
  }

  /** `/keyward <text>` typed by `userId`; its answers go to the response URL named `responseId`. */
  command(userId: string, text: string, responseId = randomBytes(4).toString('hex')) {
    const triggerId = `trigger-${randomBytes(4).toString('hex')}`;
    const form = {
      token: 'legacy-verification-token',
      team_id: 'T0001',
      team_domain: 'example',
      channel_id: `D${userId.slice(1)}`,
      channel_name: 'directmessage',
      user_id: userId,
      user_name: userId.toLowerCase(),
      command: '/keyward',
      text,
      api_app_id: 'A0001',
      response_url: this.slack.responseUrl(responseId),
      trigger_id: triggerId,
    };
    return { triggerId, responseUrl: form.response_url, sent: this.deliver({ form }) };
  }

  /** An Events API callback carrying `event`, as Slack sends it. */
  event(event: Record<string, unknown>) {
    return this.deliver({
      json: {
        token: 'legacy-verification-token',
        team_id: 'T0001',
        api_app_id: 'A0001',
        type: 'event_callback',
        event_id: `Ev${randomBytes(4).toString('hex').toUpperCase()}`,
        event_time: Math.floor(Date.now() / 1000),
        event: { event_ts: `${Date.now() / 1000}`, ...event },
      },
    });
  }

  /** The approval messages posted for a request (successful calls only). */
  approvalMessages(requestId: string): Record<string, unknown>[] {
    return this.slack
      .callsOf('chat.postMessage')
      .filter((m) => JSON.stringify(m.blocks ?? '').includes(requestId));
  }

  /** The in-place updates of a request's approval messages. */
  updatesOf(requestId: string): Record<string, unknown>[] {
    return this.slack
      .callsOf('chat.update')
      .filter((u) => JSON.stringify(u.blocks ?? '').includes(requestId));
  }

  /** Waits for a mail to `address` whose subject starts with `subject` and that `match` accepts. */
  mail(
    address: string,
    subject: string,
    match: (mail: ReceivedMail) => boolean = () => true,
  ): Promise<ReceivedMail> {
    return waitFor(`mail "${subject}" to ${address}`, () =>
      this.smtp.to(address).find((m) => m.parsed.subject?.startsWith(subject) && match(m)),
    );
  }

  /** The approval email `address` received for a request, found by its approve link's claims. */
  approvalMail(address: string, requestId: string): Promise<ReceivedMail> {
    return this.mail(
      address,
      'Approval needed:',
      (m) => decisionLinks(m, this.links).approve.claims.requestId === requestId,
    );
  }

  /** Opens a decision link as a browser does. */
  open(link: string): Promise<Response> {
    return fetch(link, { redirect: 'manual' });
  }

  /** Posts a form to keyward's server, as a browser submits one. */
  post(path: string, form: Record<string, string>): Promise<Response> {
    return fetch(new URL(path, this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  token(identity: string): Promise<string> {
    return mintToken(this.jit.db, identity, 'test');
  }

  async stop(): Promise<void> {
    await this.finish().catch((err) =>
      process.stderr.write(`could not end every request: ${String(err)}\n`),
    );
    await this.app?.close();
    await this.jit.stop();
    await Promise.all([this.slack.stop(), this.smtp.stop()]);
  }
}

interface DecisionLink {
  url: string;
  token: string;
  claims: {
    requestId: string;
    approver: string;
    decision: 'approve' | 'deny';
    exp: number;
    nonce: string;
  };
}

/** The Approve and Deny links of an approval email, read from its text part. */
export function decisionLinks(
  mail: ReceivedMail,
  signer: LinkSigner,
): { approve: DecisionLink; deny: DecisionLink } {
  const text = mail.parsed.text ?? '';
  const link = (label: string): DecisionLink => {
    const url = new RegExp(`^${label}:\\s+(\\S+)$`, 'm').exec(text)?.[1];
    if (!url) throw new Error(`the email has no ${label} link`);
    const token = new URL(url).searchParams.get('token') ?? '';
    const verdict = signer.verify(token);
    if (!verdict.ok) throw new Error(`the ${label} link does not verify: ${verdict.reason}`);
    return { url, token, claims: verdict.claims };
  };
  return { approve: link('Approve'), deny: link('Deny') };
}

/** The form on a confirmation page: where it posts, and its hidden fields. */
export function pageForm(html: string): {
  action: string;
  method: string;
  fields: Record<string, string>;
} {
  const form = /<form method="([^"]+)" action="([^"]+)">/.exec(html);
  if (!form) throw new Error('the page has no form');
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(
    /<input type="hidden" name="([^"]+)" value="([^"]*)">/g,
  )) {
    fields[name] = value
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  }
  return { method: form[1], action: form[2], fields };
}

/**
 * A policy for the approval tests: alice requests, bob and carol approve (carol is found in
 * Slack through her email), mallory is known but approves nothing, dana is the admin. One person
 * holds one live request per entitlement. Role and login names are unique, so test files can run
 * side by side on one PostgreSQL cluster.
 */
export function approvalsPolicy() {
  const analyst = uniqueName('analyst');
  const reporting = uniqueName('reporting');
  const aliceLogin = uniqueName('alice');
  const policy: PolicyInput = {
    version: 1,
    settings: { approvalWindow: '10m' },
    identities: [
      {
        id: 'alice',
        name: 'Alice Example',
        email: 'alice@example.test',
        slackUserId: 'UALICE',
        logins: { target: aliceLogin },
      },
      { id: 'bob', name: 'Bob Example', email: 'bob@example.test', slackUserId: 'UBOB' },
      { id: 'carol', name: 'Carol Example', email: 'carol@example.test' },
      { id: 'mallory', name: 'Mallory', email: 'mallory@example.test', slackUserId: 'UMALLORY' },
      { id: 'dana', email: 'dana@example.test' },
    ],
    groups: [
      { id: 'approvers', members: ['bob', 'carol'] },
      { id: 'security', members: ['dana'] },
    ],
    systems: [targetSystem],
    entitlements: [
      targetEntitlement('analyst', analyst),
      // A second entitlement, for tests that need two live requests of one person at once.
      targetEntitlement('reporting', reporting, { riskTier: 'low', maxDuration: '4h' }),
    ],
  };
  // carol has no slackUserId in the policy: Slack's directory finds her through her email.
  const slackEmails = { UCAROL: 'carol@example.test' };
  return { policy, slackEmails, roles: { analyst, reporting }, logins: { alice: aliceLogin } };
}
