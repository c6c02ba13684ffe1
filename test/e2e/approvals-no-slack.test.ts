import { notificationChannels } from '../../workers/channels';
import { ApprovalsHarness, approvalsPolicy, decisionLinks } from '../support/approvals-harness';

const { policy, slackEmails, roles, logins } = approvalsPolicy();
const harness = new ApprovalsHarness(policy, { slackEmails, slack: false });

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles({ name: roles.analyst }, { name: logins.alice, login: true });
});

afterEach(() => harness.finish());

afterAll(() => harness.stop());

describe('approvals with Slack off', () => {
  test('says once that Slack is off and gives the worker no Slack channel', () => {
    expect(harness.said.filter((line) => line.includes('Slack is off'))).toEqual([
      'Slack is off: SLACK_BOT_TOKEN is not set.',
    ]);
    expect(harness.jit.channels?.slack).toBeUndefined();
    expect(harness.jit.channels?.mail).toBeDefined();

    const said: string[] = [];
    const channels = notificationChannels(
      { ...harness.config(), email: { from: 'keyward <k@example.test>' } },
      () => harness.jit.policy,
      (line) => said.push(line),
    );
    expect(channels).toEqual({});
    expect(said).toEqual([
      'Slack is off: SLACK_BOT_TOKEN is not set.',
      'Email is off: neither SMTP_URL nor KEYWARD_MAIL_DIR is set.',
    ]);
  });

  test('takes a decision through the email link and calls Slack for nothing', async () => {
    const { requestId } = await harness.request();
    const { approve } = decisionLinks(
      await harness.approvalMail('bob@example.test', requestId),
      harness.links,
    );

    const approved = await harness.post('/email/decide', { token: approve.token });
    expect(approved.status).toBe(200);
    expect(await harness.jit.isMember(roles.analyst, logins.alice)).toBe(true);
    await harness.mail('alice@example.test', 'Granted: target/analyst for 10m', (m) =>
      Boolean(m.parsed.text?.includes(requestId)),
    );

    // Without a Slack receiver there is no Slack endpoint to reach.
    expect(
      (await harness.deliver({ json: { type: 'url_verification', challenge: 'c' } })).status,
    ).toBe(404);
    expect(harness.slack.calls).toEqual([]);
  });
});
