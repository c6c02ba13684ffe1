import { statusQuery } from '../../workflows/jit/definitions';
import { ApprovalsHarness } from '../support/approvals-harness';
import { TARGET_ENV } from '../support/jit-harness';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const analyst = uniqueName('analyst');
const aliceLogin = uniqueName('alice');

const harness = new ApprovalsHarness(
  {
    version: 1,
    settings: { approvalWindow: '10m' },
    identities: [
      { id: 'alice', name: 'Alice Example', email: 'alice@example.test', slackUserId: 'UALICE', logins: { target: aliceLogin } },
      { id: 'bob', name: 'Bob Example', email: 'bob@example.test', slackUserId: 'UBOB' },
      { id: 'carol', name: 'Carol Example', email: 'carol@example.test' },
      { id: 'mallory', name: 'Mallory', email: 'mallory@example.test', slackUserId: 'UMALLORY' },
      { id: 'dana', email: 'dana@example.test' },
    ],
    groups: [
      { id: 'approvers', members: ['bob', 'carol'] },
      { id: 'security', members: ['dana'] },
    ],
    systems: [{ id: 'target', type: 'postgres', connection: `env:${TARGET_ENV}` }],
    entitlements: [
      { id: 'target/analyst', system: 'target', role: analyst, maxDuration: '1h', approval: { required: 1, from: ['approvers'] } },
    ],
  },
  // carol has no slackUserId in the policy: she is found through her email.
  { UCAROL: 'carol@example.test' },
);

const request = () =>
  harness.jit.request({ requester: 'alice', entitlementId: 'target/analyst', durationMs: 600_000, reason: 'ticket 4411' });

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles({ name: analyst }, { name: aliceLogin, login: true });
});

afterAll(() => harness.stop());

describe('approvals through Slack', () => {
  test('grants a request approved with a click, and updates every copy of the message', async () => {
    const handle = await request();
    const { requestId } = await handle.query(statusQuery);
    const posted = await waitFor('the approval messages', () => {
      const messages = harness.slack.callsOf('chat.postMessage').filter((m) => JSON.stringify(m.blocks ?? '').includes(requestId));
      return messages.length === 2 && messages;
    });
    expect(posted.map((m) => m.channel).sort()).toEqual(['UBOB', 'UCAROL']);

    const response = await harness.click('UBOB', 'approve_request', requestId);
    expect(response.status).toBe(200);
    await waitFor('the grant', () => harness.jit.isMember(analyst, aliceLogin));

    const updates = await waitFor('both copies updated', () => {
      const done = harness.slack
        .callsOf('chat.update')
        .filter((u) => JSON.stringify(u.blocks).includes(requestId) && String(u.text).includes('granted until'));
      return new Set(done.map((u) => u.channel)).size === 2 && done;
    });
    for (const update of updates) {
      expect(JSON.stringify(update.blocks)).not.toContain('approve_request');
      expect(String(update.text)).toContain('Approved by Bob Example');
    }
    await handle.terminate();
  });
});
