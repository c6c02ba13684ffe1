import { ApprovalsHarness, approvalsPolicy } from '../support/approvals-harness';
import { waitFor } from '../support/wait';

const { policy, slackEmails, roles, logins } = approvalsPolicy();
// Short windows, so that every moment the requester hears about happens within a test.
policy.settings = { approvalWindow: '3s', expiryWarning: '2s' };
const harness = new ApprovalsHarness(policy, { slackEmails });

const dmsToAlice = () =>
  harness.slack.callsOf('chat.postMessage').filter((m) => m.channel === 'UALICE');

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles({ name: roles.analyst }, { name: logins.alice, login: true });
});

afterEach(() => harness.finish());

afterAll(() => harness.stop());

describe('what the requester hears', () => {
  test('is told when access is granted, shortly before it ends, and when it has ended', async () => {
    const { handle, requestId } = await harness.request({ durationMs: 4_000 });
    await waitFor('the approval message', () => harness.approvalMessages(requestId).length > 0);
    await harness.click('UBOB', 'approve_request', requestId);
    await handle.result();

    const texts = await waitFor('the notices', () => {
      const seen = dmsToAlice().map((m) => String(m.text));
      return seen.some((t) => t.startsWith('Your ') && t.includes(' ended at ')) && seen;
    });
    const order = ['was approved by Bob Example', 'You have', 'ends at', 'ended at'].map((part) =>
      texts.findIndex((t) => t.includes(part)),
    );
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    for (const subject of [
      'Granted: target/analyst for 4s',
      'Ending soon: target/analyst for 4s',
      'Ended: target/analyst for 4s',
    ]) {
      await harness.mail('alice@example.test', subject, (m) =>
        Boolean(m.parsed.text?.includes(requestId)),
      );
    }
  });

  test('is told when nobody decided in time, and every approver copy says so', async () => {
    const { handle, requestId } = await harness.request();
    await waitFor('the approval messages', () => harness.approvalMessages(requestId).length === 2);
    await handle.result();

    await waitFor('the expiry notice', () =>
      dmsToAlice().some((m) => String(m.text).startsWith('Nobody decided')),
    );
    await harness.mail('alice@example.test', 'Expired: target/analyst for 10m', (m) =>
      Boolean(m.parsed.text?.includes(requestId)),
    );
    const updates = await waitFor('both copies updated', () => {
      const expired = harness
        .updatesOf(requestId)
        .filter((u) => String(u.text).startsWith('Expired'));
      return new Set(expired.map((u) => u.channel)).size === 2 && expired;
    });
    for (const update of updates)
      expect(JSON.stringify(update.blocks)).not.toContain('approve_request');
  });
});
