import type { App } from '@slack/bolt';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { createSlackApp } from '../../integrations/slack/app';
import { SlackDirectory } from '../../integrations/slack/directory';
import { slackPorts } from '../../server/slack';
import { statusQuery } from '../../workflows/jit/definitions';
import { FakeSlackSocket } from '../support/fake-slack-socket';
import { JitHarness } from '../support/jit-harness';
import { targetEntitlement, targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const analyst = uniqueName('analyst');
const aliceLogin = uniqueName('alice');
const slack = new FakeSlackSocket();
const harness = JitHarness.fromDocument({
  version: 1,
  identities: [
    { id: 'alice', slackUserId: 'UALICE', logins: { target: aliceLogin } },
    { id: 'bob', slackUserId: 'UBOB' },
    { id: 'dana' },
  ],
  groups: [
    { id: 'approvers', members: ['bob'] },
    { id: 'security', members: ['dana'] },
  ],
  systems: [targetSystem],
  entitlements: [targetEntitlement('analyst', analyst)],
});
let app: App;

beforeAll(async () => {
  await slack.start();
  await harness.start();
  await harness.createRoles({ name: analyst }, { name: aliceLogin, login: true });
  const policy = () => harness.policy;
  const deps = { db: harness.db, temporal: harness.client, policy, taskQueue: harness.taskQueue };
  ({ app } = createSlackApp({
    botToken: 'xoxb-test-token',
    appToken: 'xapp-test-token',
    apiUrl: slack.url,
    directory: (client) => new SlackDirectory(policy, client),
    ports: slackPorts({
      ...deps,
      publicUrl: 'http://127.0.0.1:9',
      reviewLinks: new ReviewLinkSigner(harness.encryptionKey),
    }),
    onError: (err) => process.stderr.write(`slack app: ${String(err)}\n`),
  }));
  await app.start();
});

afterAll(async () => {
  // The fake closes its sockets with a handshake first, as Slack would; a socket the client
  // closed itself would leave it waiting half a minute for the answer, past the end of the file.
  await slack.stop();
  await app?.stop();
  await harness.stop();
});

describe('Slack in Socket Mode', () => {
  test('opens its connection through the Web API and grants a request approved over the socket', async () => {
    expect(slack.calls).toContain('apps.connections.open');
    await waitFor('the socket connection', () => slack.connected);

    const handle = await harness.request({
      requester: 'alice',
      entitlementId: 'target/analyst',
      durationMs: 600_000,
      reason: 'socket',
    });
    const { requestId } = await handle.query(statusQuery);
    slack.deliver('envelope-1', {
      type: 'block_actions',
      user: { id: 'UBOB', team_id: 'T0001' },
      team: { id: 'T0001' },
      api_app_id: 'A0001',
      trigger_id: 'trigger-1',
      channel: { id: 'DBOB' },
      actions: [
        {
          type: 'button',
          action_id: 'approve_request',
          block_id: 'decision',
          value: requestId,
          action_ts: '1.1',
        },
      ],
    });

    await waitFor('the acknowledgement', () => slack.acks.includes('envelope-1'));
    await waitFor('the grant', () => harness.isMember(analyst, aliceLogin));
    expect((await handle.query(statusQuery)).approvals.map((a) => a.approver)).toEqual(['bob']);
    await handle.terminate();
  });
});
