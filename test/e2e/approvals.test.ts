import { ApprovalsHarness, approvalsPolicy } from '../support/approvals-harness';
import { waitFor } from '../support/wait';

type Block = {
  type: string;
  fields?: { text: string }[];
  text?: { text: string };
  elements?: Record<string, unknown>[];
};

const { policy, slackEmails, roles, logins } = approvalsPolicy();
// UIMPOSTOR's Slack profile carries bob's email, but bob is mapped to UBOB by id.
const harness = new ApprovalsHarness(policy, {
  slackEmails: { ...slackEmails, UIMPOSTOR: 'bob@example.test' },
});

const blocksOf = (message: Record<string, unknown>) => message.blocks as Block[];
const contextOf = (message: Record<string, unknown>) =>
  blocksOf(message)
    .find((b) => b.type === 'context')!
    .elements!.map((e) => String(e.text))
    .join(' ');
const hasButtons = (message: Record<string, unknown>) =>
  blocksOf(message).some((b) => b.type === 'actions');

async function pendingRequest() {
  const created = await harness.request();
  await waitFor(
    'the approval messages',
    () => harness.approvalMessages(created.requestId).length === 2,
  );
  return created;
}

/** Waits until both approvers' copies were last updated with something `match` accepts. */
function copiesUpdated(requestId: string, match: (update: Record<string, unknown>) => boolean) {
  return waitFor('both copies updated', () => {
    const latest = new Map(harness.updatesOf(requestId).map((u) => [String(u.channel), u]));
    const copies = [...latest.values()];
    return copies.length === 2 && copies.every(match) ? copies : undefined;
  });
}

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles({ name: roles.analyst }, { name: logins.alice, login: true });
});

afterEach(() => harness.finish());

afterAll(() => harness.stop());

describe('approvals through Slack', () => {
  test('grants a request approved with a click, and updates every copy of the message', async () => {
    const mark = harness.slack.mark();
    const { requestId } = await harness.request();
    const posted = await waitFor('the approval messages', () => {
      const messages = harness.approvalMessages(requestId);
      return messages.length === 2 ? messages : undefined;
    });
    expect(posted.map((m) => m.channel).sort()).toEqual(['UBOB', 'UCAROL']);
    for (const message of posted) {
      const blocks = blocksOf(message);
      expect(blocks.find((b) => b.fields)!.fields!.map((f) => f.text)).toEqual([
        '*Requester*\nAlice Example',
        '*Entitlement*\ntarget/analyst',
        '*System*\ntarget',
        '*Risk tier*\nmedium',
        '*Duration*\n10m',
        '*Approval rule*\n1 approval(s) from approvers',
      ]);
      expect(blocks.some((b) => b.text?.text === '*Justification*\nticket 4411')).toBe(true);
      const buttons = blocks.find((b) => b.type === 'actions')!.elements!;
      expect(buttons).toMatchObject([
        { action_id: 'approve_request', value: requestId, text: { text: 'Approve' } },
        { action_id: 'deny_request', value: requestId, text: { text: 'Deny' } },
      ]);
    }

    const response = await harness.click('UBOB', 'approve_request', requestId);
    expect(response.status).toBe(200);
    await waitFor('the grant', () => harness.jit.isMember(roles.analyst, logins.alice));

    const copies = await copiesUpdated(requestId, (u) => String(u.text).includes('granted until'));
    // Each copy is updated where it was posted: the DM channels Slack answered with.
    expect(copies.map((c) => c.channel).sort()).toEqual(['DBOB', 'DCAROL']);
    for (const copy of copies) {
      expect(hasButtons(copy)).toBe(false);
      expect(contextOf(copy)).toMatch(
        /^Approved by Bob Example at <!date\^\d+\^[^>]+>; granted until <!date\^/,
      );
    }

    const told = await waitFor('the requester told in Slack', () => {
      const texts = harness.slack
        .callsOf('chat.postMessage', mark)
        .filter((m) => m.channel === 'UALICE')
        .map((m) => String(m.text));
      return texts.length === 2 ? texts : undefined;
    });
    expect(told[0]).toBe('Your request for target/analyst for 10m was approved by Bob Example.');
    expect(told[1]).toMatch(new RegExp(`^You have ${roles.analyst} on target until <!date`));
    const forThisRequest = (m: { parsed: { text?: string } }) =>
      Boolean(m.parsed.text?.includes(`Request: ${requestId}`));
    const approved = await harness.mail(
      'alice@example.test',
      'Approved: target/analyst for 10m',
      forThisRequest,
    );
    const granted = await harness.mail(
      'alice@example.test',
      'Granted: target/analyst for 10m',
      forThisRequest,
    );
    expect(approved.parsed.text).toContain('was approved by Bob Example.');
    expect(granted.parsed.text).toContain(`You have ${roles.analyst} on target until`);
    expect(harness.smtp.received.indexOf(approved)).toBeLessThan(
      harness.smtp.received.indexOf(granted),
    );
  });

  test('denies with the reason typed in the modal, shows it on every copy and tells the requester', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    expect((await harness.click('UBOB', 'deny_request', requestId)).status).toBe(200);
    const opened = await waitFor(
      'the deny modal',
      () => harness.slack.callsOf('views.open', mark)[0],
    );
    const view = opened.view as { callback_id: string; private_metadata: string };
    expect(view).toMatchObject({ callback_id: 'deny_reason_modal', private_metadata: requestId });
    expect(String(opened.trigger_id)).toMatch(/^trigger-/);
    expect((await harness.status(requestId)).status).toBe('PENDING');

    // What people type is shown as they typed it, never read as Slack markup.
    const reason = 'use the read replica <db-ro> & ask again';
    const submitted = await harness.submitView('UBOB', {
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: { reason: { reason_input: { type: 'plain_text_input', value: reason } } },
    });
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');

    const denied = await waitFor('the denial', async () => {
      const state = await harness.status(requestId);
      return state.status === 'DENIED' ? state : undefined;
    });
    expect(denied.denial).toMatchObject({ approver: 'bob', reason });
    expect(denied.approvals).toEqual([]);
    const escaped = 'use the read replica &lt;db-ro&gt; &amp; ask again';
    const copies = await copiesUpdated(requestId, (u) => String(u.text).startsWith('Denied by'));
    for (const copy of copies) {
      expect(hasButtons(copy)).toBe(false);
      expect(contextOf(copy)).toMatch(
        new RegExp(`^Denied by Bob Example at <!date[^>]+>: ${escaped} Request`),
      );
    }

    const dm = await waitFor('the requester told in Slack', () =>
      harness.slack.callsOf('chat.postMessage', mark).find((m) => m.channel === 'UALICE'),
    );
    expect(dm.text).toBe(
      `Your request for target/analyst for 10m was denied by Bob Example: ${escaped}`,
    );
    const mail = await harness.mail('alice@example.test', 'Denied: target/analyst for 10m', (m) =>
      Boolean(m.parsed.text?.includes(requestId)),
    );
    expect(mail.parsed.text).toContain(`was denied by Bob Example: ${reason}`);
    expect(await harness.jit.isMember(roles.analyst, logins.alice)).toBe(false);
  });

  test('answers a blank denial reason with an error on the field and changes nothing', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    for (const value of ['   ', null]) {
      const submitted = await harness.submitView('UBOB', {
        callbackId: 'deny_reason_modal',
        privateMetadata: requestId,
        values: { reason: { reason_input: { type: 'plain_text_input', value } } },
      });
      expect(submitted.status).toBe(200);
      expect(await submitted.json()).toEqual({
        response_action: 'errors',
        errors: { reason: 'A denial needs a reason.' },
      });
    }

    const state = await harness.status(requestId);
    expect(state.status).toBe('PENDING');
    expect(state.denial).toBeUndefined();
    expect(harness.slack.calls.slice(mark)).toEqual([]);
  });

  test('refuses a click from a known person who is not an approver, in a message only they see', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    expect((await harness.click('UMALLORY', 'approve_request', requestId)).status).toBe(200);
    const whisper = await waitFor(
      'the refusal',
      () => harness.slack.callsOf('chat.postEphemeral', mark)[0],
    );
    expect(whisper).toMatchObject({ channel: 'DMALLORY', user: 'UMALLORY' });
    expect(whisper.text).toBe(
      'Not recorded: mallory is not an approver for target/analyst (its approvers are the members of group approvers)',
    );

    const state = await harness.status(requestId);
    expect(state.status).toBe('PENDING');
    expect(state.approvals).toEqual([]);
    expect(harness.slack.callsOf('chat.update', mark)).toEqual([]);
  });

  test('refuses clicks from Slack users the policy does not know, even one showing a known email', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    for (const user of ['UNOBODY', 'UIMPOSTOR']) {
      expect((await harness.click(user, 'approve_request', requestId)).status).toBe(200);
      const whisper = await waitFor(`the refusal to ${user}`, () =>
        harness.slack.callsOf('chat.postEphemeral', mark).find((w) => w.user === user),
      );
      expect(whisper).toMatchObject({ channel: `D${user.slice(1)}` });
      expect(whisper.text).toBe(
        'keyward does not know your Slack account, so it cannot take a decision from you.',
      );
    }
    expect(harness.slack.callsOf('users.info', mark).map((c) => c.user)).toEqual([
      'UNOBODY',
      'UIMPOSTOR',
    ]);

    const state = await harness.status(requestId);
    expect(state.status).toBe('PENDING');
    expect(state.approvals).toEqual([]);
    expect(harness.slack.callsOf('chat.update', mark)).toEqual([]);
  });

  test('records one decision when the same click arrives twice at once', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    const responses = await Promise.all([
      harness.click('UBOB', 'approve_request', requestId),
      harness.click('UBOB', 'approve_request', requestId),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const state = await waitFor('the grant', async () => {
      const current = await harness.status(requestId);
      return current.status === 'GRANTED' ? current : undefined;
    });
    expect(state.approvals.map((a) => a.approver)).toEqual(['bob']);
    expect(await harness.jit.isMember(roles.analyst, logins.alice)).toBe(true);
    const whisper = await waitFor(
      'the second click told',
      () => harness.slack.callsOf('chat.postEphemeral', mark)[0],
    );
    expect(whisper).toMatchObject({ channel: 'DBOB', user: 'UBOB' });
    expect(String(whisper.text)).toMatch(
      new RegExp(`^Not recorded: (request ${requestId} is already|bob has already approved)`),
    );
    expect(harness.slack.callsOf('chat.postEphemeral', mark)).toHaveLength(1);
  });

  test('records one decision when two approvers click at once, and tells the other one', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    const responses = await Promise.all([
      harness.click('UBOB', 'approve_request', requestId),
      harness.click('UCAROL', 'approve_request', requestId),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const state = await waitFor('the grant', async () => {
      const current = await harness.status(requestId);
      return current.status === 'GRANTED' ? current : undefined;
    });
    expect(state.approvals).toHaveLength(1);
    const loser = state.approvals[0].approver === 'bob' ? 'UCAROL' : 'UBOB';
    const whisper = await waitFor(
      'the other approver told',
      () => harness.slack.callsOf('chat.postEphemeral', mark)[0],
    );
    expect(whisper).toMatchObject({ channel: `D${loser.slice(1)}`, user: loser });
    expect(String(whisper.text)).toMatch(
      new RegExp(`^Not recorded: request ${requestId} is already (approved|granted)$`),
    );
    expect(harness.slack.callsOf('chat.postEphemeral', mark)).toHaveLength(1);
  });

  test('answers 401 to a bad signature and to a stale timestamp, and changes nothing', async () => {
    const { requestId } = await pendingRequest();
    const mark = harness.slack.mark();

    const forged = await harness.click('UBOB', 'approve_request', requestId, {
      signature: `v0=${'ab'.repeat(32)}`,
    });
    expect(forged.status).toBe(401);
    // Signed correctly, but six minutes ago: a replayed request.
    const stale = await harness.click('UBOB', 'approve_request', requestId, {
      timestamp: Math.floor(Date.now() / 1000) - 360,
    });
    expect(stale.status).toBe(401);

    const state = await harness.status(requestId);
    expect(state.status).toBe('PENDING');
    expect(state.approvals).toEqual([]);
    expect(harness.slack.calls.slice(mark)).toEqual([]);
  });

  test('posts the approval message when Slack first answers 429 with Retry-After', async () => {
    harness.slack.rateLimitNext('chat.postMessage', 1);
    const mark = harness.slack.mark();
    const { requestId } = await pendingRequest();

    const calls = harness.slack.calls.slice(mark);
    const limited = calls.findIndex((c) => c.method === 'chat.postMessage (429)');
    expect(limited).toBeGreaterThanOrEqual(0);
    const { channel, blocks } = calls[limited].args;
    expect(JSON.stringify(blocks)).toContain(requestId);
    const retried = calls.findIndex(
      (c, i) => i > limited && c.method === 'chat.postMessage' && c.args.channel === channel,
    );
    expect(retried).toBeGreaterThan(limited);
    expect(JSON.stringify(calls[retried].args.blocks)).toContain(requestId);
    // One copy per approver, however often Slack was asked.
    expect(
      harness
        .approvalMessages(requestId)
        .map((m) => m.channel)
        .sort(),
    ).toEqual(['UBOB', 'UCAROL']);
  });
});
