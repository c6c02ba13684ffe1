import { ApprovalsHarness, approvalsPolicy } from '../support/approvals-harness';
import { waitFor } from '../support/wait';

const { policy, slackEmails, roles, logins } = approvalsPolicy();
const harness = new ApprovalsHarness(policy, { slackEmails });

const createdId = (text: unknown) => /^Request `([0-9a-f-]{36})` created/.exec(String(text))?.[1];

/** Runs `/keyward <text>` as `userId` and waits for keyward's answer at the command's response URL. */
async function slash(userId: string, text: string) {
  const mark = harness.slack.mark();
  const command = harness.command(userId, text);
  const sent = await command.sent;
  return { mark, sent, triggerId: command.triggerId, responseUrl: command.responseUrl };
}

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles(
    { name: roles.analyst },
    { name: roles.reporting },
    { name: logins.alice, login: true },
  );
});

afterEach(() => harness.finish());

afterAll(() => harness.stop());

describe('the /keyward command and App Home', () => {
  test('creates a request from `/keyward request <entitlement> <duration> <reason>`', async () => {
    const { mark, sent } = await slash(
      'UALICE',
      'request target/analyst 30m rotate the reporting job, ticket 4411',
    );
    expect(sent.status).toBe(200);
    expect(await sent.text()).toBe('');

    const answer = await waitFor(
      'the confirmation',
      () => harness.slack.callsOf('response_url', mark)[0],
    );
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(
      /^Request `[0-9a-f-]{36}` created; it needs 1 approval\(s\) from bob, carol\.$/,
    );
    const requestId = createdId(answer.text)!;
    harness.track(requestId);

    const state = await harness.status(requestId);
    expect(state).toMatchObject({
      requester: 'alice',
      status: 'PENDING',
      reason: 'rotate the reporting job, ticket 4411',
    });
    expect(state.plan).toMatchObject({ entitlementId: 'target/analyst', durationMs: 1_800_000 });
    await waitFor('the approval messages', () => harness.approvalMessages(requestId).length === 2);
  });

  test('opens the request modal when arguments are missing, and creates the request it submits', async () => {
    for (const text of ['request', 'request target/analyst', 'request target/analyst 45m']) {
      const { mark, sent, triggerId } = await slash('UALICE', text);
      expect(sent.status).toBe(200);
      const opened = await waitFor(
        `the modal for "${text}"`,
        () => harness.slack.callsOf('views.open', mark)[0],
      );
      expect(opened.trigger_id).toBe(triggerId);
      const view = opened.view as {
        callback_id: string;
        blocks: { block_id: string; element: Record<string, unknown> }[];
      };
      expect(view.callback_id).toBe('new_request_modal');
      const select = view.blocks.find((b) => b.block_id === 'entitlement')!.element;
      expect(select.options).toEqual([
        {
          text: { type: 'plain_text', text: 'target/analyst (medium, up to 1h)', emoji: false },
          value: 'target/analyst',
        },
        {
          text: { type: 'plain_text', text: 'target/reporting (low, up to 4h)', emoji: false },
          value: 'target/reporting',
        },
      ]);
      if (text !== 'request')
        expect(select.initial_option).toMatchObject({ value: 'target/analyst' });
      expect(harness.slack.callsOf('response_url', mark)).toEqual([]);
    }

    const mark = harness.slack.mark();
    const submitted = await harness.submitView('UALICE', {
      callbackId: 'new_request_modal',
      values: {
        entitlement: {
          value: { type: 'static_select', selected_option: { value: 'target/analyst' } },
        },
        duration: { value: { type: 'plain_text_input', value: ' 45m ' } },
        reason: { value: { type: 'plain_text_input', value: 'from the modal' } },
      },
    });
    expect(submitted.status).toBe(200);
    const told = await waitFor('the confirmation', () =>
      harness.slack
        .callsOf('chat.postMessage', mark)
        .find((m) => m.channel === 'UALICE' && createdId(m.text)),
    );
    const requestId = createdId(told.text)!;
    harness.track(requestId);
    const state = await harness.status(requestId);
    expect(state).toMatchObject({
      requester: 'alice',
      status: 'PENDING',
      reason: 'from the modal',
    });
    expect(state.plan.durationMs).toBe(2_700_000);
  });

  test('tells the requester why a request from the command was not created', async () => {
    const { mark } = await slash('UALICE', 'request target/analyst 3h too long');
    const answer = await waitFor(
      'the refusal',
      () => harness.slack.callsOf('response_url', mark)[0],
    );
    expect(answer.text).toBe(
      'Request not created: 3h is longer than the 1h that target/analyst allows',
    );

    const unknown = await slash('UNOBODY', 'request target/analyst 30m who am I');
    const refusal = await waitFor(
      'the refusal',
      () => harness.slack.callsOf('response_url', unknown.mark)[0],
    );
    expect(refusal.text).toBe(
      'keyward does not know your Slack account, so it cannot take a decision from you.',
    );
  });

  test("answers `/keyward status` with the caller's requests and grants", async () => {
    const mark = harness.slack.mark();
    const granted = await harness.request({ reason: 'to be granted' });
    const pending = await harness.request({
      entitlementId: 'target/reporting',
      reason: 'still pending',
    });
    await waitFor(
      'the approval messages',
      () => harness.approvalMessages(granted.requestId).length === 2,
    );
    await harness.click('UBOB', 'approve_request', granted.requestId);
    // The requester hears of the grant once it is recorded.
    await waitFor('the grant recorded', () =>
      harness.slack
        .callsOf('chat.postMessage', mark)
        .some((m) => m.channel === 'UALICE' && String(m.text).startsWith('You have')),
    );

    const status = await slash('UALICE', 'status');
    const answer = await waitFor(
      'the status',
      () => harness.slack.callsOf('response_url', status.mark)[0],
    );
    expect(answer.response_type).toBe('ephemeral');
    const text = String(answer.text);
    expect(text).toContain(`• target/analyst: GRANTED (\`${granted.requestId}\`)`);
    expect(text).toContain(`• target/reporting: PENDING (\`${pending.requestId}\`)`);
    expect(text).toMatch(/\*Your active grants\*\n• \*target\/analyst\* until <!date\^\d+\^/);
    expect(await harness.jit.isMember(roles.analyst, logins.alice)).toBe(true);

    const someoneElse = await slash('UBOB', 'status');
    const theirs = await waitFor(
      'their status',
      () => harness.slack.callsOf('response_url', someoneElse.mark)[0],
    );
    expect(theirs.text).toBe('*Your requests*\n_none_\n\n*Your active grants*\n_none_');
  });

  test('publishes an App Home that lists the approvals waiting for the reader', async () => {
    const first = await harness.request();
    const second = await harness.request({
      entitlementId: 'target/reporting',
      reason: 'another one',
    });
    for (const { requestId } of [first, second]) {
      await waitFor(
        'the approval messages',
        () => harness.approvalMessages(requestId).length === 2,
      );
    }

    const mark = harness.slack.mark();
    const opened = await harness.event({
      type: 'app_home_opened',
      user: 'UCAROL',
      channel: 'DCAROL',
      tab: 'home',
    });
    expect(opened.status).toBe(200);
    const published = await waitFor(
      'the home view',
      () => harness.slack.callsOf('views.publish', mark)[0],
    );
    expect(published.user_id).toBe('UCAROL');
    const view = published.view as {
      type: string;
      blocks: { type: string; text?: { text: string } }[];
    };
    expect(view.type).toBe('home');
    expect(view.blocks[0].text!.text).toBe('Waiting for your approval');
    const waiting = view.blocks[1].text!.text.split('\n').sort();
    expect(waiting).toEqual(
      [
        `• Alice Example: *target/analyst* (\`${first.requestId}\`)`,
        `• Alice Example: *target/reporting* (\`${second.requestId}\`)`,
      ].sort(),
    );

    const nothing = harness.slack.mark();
    await harness.event({
      type: 'app_home_opened',
      user: 'UMALLORY',
      channel: 'DMALLORY',
      tab: 'home',
    });
    const theirs = await waitFor(
      'the other home view',
      () => harness.slack.callsOf('views.publish', nothing)[0],
    );
    expect(theirs.user_id).toBe('UMALLORY');
    expect(JSON.stringify(theirs.view)).toContain('_Nothing waits for you._');
    expect(JSON.stringify(theirs.view)).not.toContain(first.requestId);
  });
});
