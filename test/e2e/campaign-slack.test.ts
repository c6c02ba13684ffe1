import { randomBytes } from 'node:crypto';
import type { PolicyInput } from '../../domain/policy';
import { CampaignService } from '../../server/campaigns';
import { listAuditEvents } from '../../store/audit';
import { findCampaign, itemsPage } from '../../store/campaigns';
import { ApprovalsHarness } from '../support/approvals-harness';
import { targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const prefix = uniqueName('ccs');
const login = (id: string) => `${prefix}_${id}`;
const role = `${prefix}_read`;

// mia reviews alice, bob and carol; rita is known to keyward but reviews none of them.
function policy(): PolicyInput {
  const person = (id: string, slack: string, manager?: string) => ({
    id,
    email: `${id}@example.test`,
    slackUserId: slack,
    ...(manager && { manager }),
    logins: { target: login(id) },
  });
  return {
    version: 1,
    settings: { adminGroup: 'security', campaignFallbackGroup: 'fallback' },
    identities: [
      person('alice', 'U0ALICE', 'mia'),
      person('bob', 'U0BOB', 'mia'),
      person('carol', 'U0CAROL', 'mia'),
      person('mia', 'U0MIA', 'sam'),
      person('sam', 'U0SAM'),
      person('rita', 'U0RITA'),
    ],
    groups: [
      { id: 'security', members: ['sam'] },
      { id: 'fallback', members: ['rita'] },
    ],
    systems: [targetSystem],
    entitlements: [
      {
        id: 'target/read',
        system: 'target',
        role,
        riskTier: 'low',
        maxDuration: '1h',
        approval: { required: 0 },
      },
    ],
  };
}

type Block = {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: Element[];
  accessory?: Element;
};
type Element = { type: string; action_id?: string; value?: string; url?: string; text?: string };
interface Posted {
  channel: string;
  ts: string;
  blocks: Block[];
}

const harness = new ApprovalsHarness(policy());
const launched: string[] = [];
let campaigns: CampaignService;

/** Starts a campaign over this file's role and waits for mia's message; `seq` names each person's item. */
async function launch(deadline = '5m') {
  const { id } = await campaigns.start('sam', {
    name: `Slack ${deadline}`,
    scope: { systems: ['target'] },
    deadline,
  });
  launched.push(id);
  await waitFor(
    'reviewing',
    async () => (await findCampaign(harness.jit.db, id))?.status === 'REVIEWING',
    60_000,
  );
  const items = await itemsPage(harness.jit.db, id, 0, 100);
  const seq = (identity: string) => items.find((item) => item.identity === identity)!.seq;
  const posted = await waitFor('the Slack message to mia', () =>
    harness.slack
      .posted((m) => m.channel === 'U0MIA' && JSON.stringify(m.blocks).includes(id))
      .at(0),
  );
  const message: Posted = {
    channel: posted.channel,
    ts: posted.ts,
    blocks: posted.args.blocks as Block[],
  };
  return { id, seq, message };
}

const item = async (id: string, seq: number) =>
  (await itemsPage(harness.jit.db, id, seq - 1, 1))[0];

/** A click on one of `message`'s buttons, as Slack sends it: with the message as Slack shows it. */
function click(userId: string, message: Posted, actionId: string, seq: number) {
  const button = message.blocks
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId && JSON.parse(e.value ?? '{}').seq === seq);
  if (!button) throw new Error(`the message has no ${actionId} button for item ${seq}`);
  const payload = {
    type: 'block_actions',
    user: { id: userId, team_id: 'T0001' },
    team: { id: 'T0001' },
    api_app_id: 'A0001',
    trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
    channel: { id: message.channel },
    container: {
      type: 'message',
      channel_id: message.channel,
      message_ts: message.ts,
      is_ephemeral: false,
    },
    message: { type: 'message', ts: message.ts, text: 'review', blocks: message.blocks },
    response_url: harness.slack.responseUrl(randomBytes(4).toString('hex')),
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: `campaign_item_${seq}`,
        value: button.value,
        action_ts: '1.1',
      },
    ],
  };
  return harness.deliver({ form: { payload: JSON.stringify(payload) } });
}

/** Clicks Revoke and returns the modal keyward opened. */
async function openRevoke(userId: string, message: Posted, seq: number) {
  const mark = harness.slack.mark();
  expect((await click(userId, message, 'campaign_revoke', seq)).status).toBe(200);
  const opened = await waitFor(
    'the revoke modal',
    () => harness.slack.callsOf('views.open', mark)[0],
  );
  return opened.view as { callback_id: string; private_metadata: string; blocks: Block[] } & Record<
    string,
    unknown
  >;
}

function submitReason(
  userId: string,
  view: { callback_id: string; private_metadata: string },
  reason: string,
) {
  return harness.submitView(userId, {
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    values: { reason: { reason_input: { type: 'plain_text_input', value: reason } } },
  });
}

/** The message's update after `mark`, as Slack was asked to show it. */
const updateOf = (message: Posted, mark: number) =>
  waitFor('the message update', () =>
    harness.slack
      .callsOf('chat.update', mark)
      .find((u) => u.channel === message.channel && u.ts === message.ts),
  ) as Promise<{ text: string; blocks: Block[] }>;

const blockOf = (blocks: Block[], seq: number) =>
  blocks.find((b) => b.block_id === `campaign_item_${seq}`)!;
const lineOf = (blocks: Block[], seq: number) => blockOf(blocks, seq).elements?.[0]?.text;
const whisperTo = (userId: string, mark: number) =>
  waitFor(`a message only ${userId} sees`, () =>
    harness.slack.callsOf('chat.postEphemeral', mark).find((m) => m.user === userId),
  );
const UTC = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC';

beforeAll(async () => {
  await harness.start();
  campaigns = new CampaignService({
    db: harness.jit.db,
    temporal: harness.jit.client,
    policy: () => harness.jit.policy,
    taskQueue: harness.jit.taskQueue,
  });
  await harness.jit.createRoles({ name: role });
  const people = ['alice', 'bob', 'carol', 'mia'];
  await harness.jit.createRoles(...people.map((id) => ({ name: login(id), login: true })));
  await superuserQuery(`GRANT "${role}" TO ${people.map((id) => `"${login(id)}"`).join(', ')}`);
}, 120_000);

afterAll(async () => {
  for (const id of launched) await campaigns.cancel('sam', id).catch(() => undefined);
  await harness.stop();
}, 60_000);

describe('deciding campaign items in Slack', () => {
  test('Revoke asks for a reason in a modal naming the item, records it and marks it in the message', async () => {
    const { id, seq, message } = await launch();
    const view = await openRevoke('U0MIA', message, seq('bob'));
    expect(view.callback_id).toBe('campaign_revoke_reason_modal');
    expect(JSON.stringify(view.blocks)).toContain(`*bob*: target/read on target`);
    const input = view.blocks.find((b) => b.block_id === 'reason') as unknown as {
      element: Record<string, unknown>;
    };
    expect(input.element).toMatchObject({
      type: 'plain_text_input',
      action_id: 'reason_input',
      max_length: 2000,
    });
    expect((await item(id, seq('bob'))).decision).toBeNull();

    const mark = harness.slack.mark();
    const reason = 'left the team <ops> & moved on';
    const submitted = await submitReason('U0MIA', view, reason);
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');
    await waitFor('the revocation', async () => (await item(id, seq('bob'))).decision === 'revoke');
    expect(await item(id, seq('bob'))).toMatchObject({ reason, decided_by: 'mia' });
    const audit = await listAuditEvents(harness.jit.db, { subject: `campaign/${id}` });
    expect(audit.find((e) => e.action === 'campaign.decided')).toMatchObject({
      actor: 'mia',
      details: { channel: 'slack', decisions: [{ seq: seq('bob'), decision: 'revoke', reason }] },
    });

    const updated = await updateOf(message, mark);
    expect(lineOf(updated.blocks, seq('bob'))).toMatch(
      new RegExp(`^Revoked by <@U0MIA> at ${UTC}$`),
    );
    for (const other of [seq('alice'), seq('carol')]) {
      expect(blockOf(updated.blocks, other).elements?.map((e) => e.action_id)).toEqual([
        'campaign_certify',
        'campaign_revoke',
      ]);
    }
    expect(updated.text).toBe('1 of 3 access items decided; 2 still wait for your review.');
    const link = (blocks: Block[]) => blocks.find((b) => b.accessory)?.accessory?.url;
    expect(link(updated.blocks)).toBe(link(message.blocks));
    expect(harness.slack.callsOf('chat.postEphemeral', mark)).toEqual([]);
  });

  test('Certify is one click and updates the message from the record, not from the copy clicked', async () => {
    const { id, seq, message } = await launch();
    const view = await openRevoke('U0MIA', message, seq('bob'));
    const revoked = harness.slack.mark();
    await submitReason('U0MIA', view, 'not needed');
    await updateOf(message, revoked);

    // The copy clicked still shows bob's buttons, as Slack sent it before the first update arrived.
    const mark = harness.slack.mark();
    expect((await click('U0MIA', message, 'campaign_certify', seq('alice'))).status).toBe(200);
    const updated = await updateOf(message, mark);
    expect(await item(id, seq('alice'))).toMatchObject({ decision: 'certify', decided_by: 'mia' });
    expect(harness.slack.callsOf('views.open', mark)).toEqual([]);
    expect(lineOf(updated.blocks, seq('alice'))).toMatch(
      new RegExp(`^Certified by <@U0MIA> at ${UTC}$`),
    );
    expect(lineOf(updated.blocks, seq('bob'))).toMatch(/^Revoked by <@U0MIA> at /);
    expect(blockOf(updated.blocks, seq('carol')).type).toBe('actions');
  });

  test('refuses an empty reason on the form, and a decision on an item not yours or decided meanwhile', async () => {
    const { id, seq, message } = await launch();
    const view = await openRevoke('U0MIA', message, seq('carol'));
    const mark = harness.slack.mark();
    const empty = await submitReason('U0MIA', view, '   ');
    expect(await empty.json()).toEqual({
      response_action: 'errors',
      errors: { reason: 'A revocation needs a reason.' },
    });
    expect((await item(id, seq('carol'))).decision).toBeNull();
    // The form's metadata comes back from Slack; one that does not hold together decides nothing.
    const meta = JSON.parse(view.private_metadata) as { seq: number };
    for (const privateMetadata of ['{not json', JSON.stringify({ ...meta, seq: 999 })]) {
      const damaged = await submitReason(
        'U0MIA',
        { ...view, private_metadata: privateMetadata },
        'gone',
      );
      expect(await damaged.json()).toEqual({
        response_action: 'errors',
        errors: { reason: 'This form is damaged; close it and click Revoke again.' },
      });
    }
    expect((await itemsPage(harness.jit.db, id, 0, 100)).filter((i) => i.decision)).toEqual([]);

    // rita sees mia's buttons (a shared screen, a forwarded message): the click is hers, and refused.
    expect((await click('U0RITA', message, 'campaign_certify', seq('carol'))).status).toBe(200);
    expect(String((await whisperTo('U0RITA', mark)).text)).toBe(
      `Not recorded: rita is not a reviewer of item ${seq('carol')}`,
    );
    const revokeClicked = harness.slack.mark();
    await click('U0RITA', message, 'campaign_revoke', seq('carol'));
    expect(String((await whisperTo('U0RITA', revokeClicked)).text)).toMatch(
      /^Not recorded: rita is not a reviewer/,
    );
    expect(harness.slack.callsOf('views.open', revokeClicked)).toEqual([]);
    expect((await item(id, seq('carol'))).decision).toBeNull();

    // The modal stays open while mia certifies the item elsewhere; its reason then changes nothing.
    await campaigns.decide('mia', id, [{ seq: seq('carol'), decision: 'certify' }], 'api');
    const late = await submitReason('U0MIA', view, 'too late');
    expect(await late.json()).toEqual({
      response_action: 'errors',
      errors: { reason: `Not recorded: item ${seq('carol')} is already decided` },
    });
    expect(await item(id, seq('carol'))).toMatchObject({ decision: 'certify', reason: null });
    expect(harness.slack.callsOf('chat.update', mark)).toEqual([]);
  });

  test('after the deadline a click and an open modal are refused with the deadline named', async () => {
    const { id, seq, message } = await launch('20s');
    const view = await openRevoke('U0MIA', message, seq('alice'));
    const campaign = await findCampaign(harness.jit.db, id);
    await waitFor(
      'the deadline',
      () => Date.now() > Date.parse(campaign!.deadlineAt!) + 500,
      40_000,
    );

    const mark = harness.slack.mark();
    const late = await submitReason('U0MIA', view, 'too late');
    const refused = (await late.json()) as { response_action: string; errors: { reason: string } };
    expect(refused.response_action).toBe('errors');
    expect(refused.errors.reason).toMatch(
      new RegExp(`^Not recorded: the deadline of campaign ${id} passed at `),
    );
    await click('U0MIA', message, 'campaign_certify', seq('bob'));
    expect(String((await whisperTo('U0MIA', mark)).text)).toMatch(
      /^Not recorded: the deadline of campaign .* passed/,
    );
    await click('U0MIA', message, 'campaign_revoke', seq('bob'));
    await waitFor(
      'two refusals',
      () => harness.slack.callsOf('chat.postEphemeral', mark).length === 2,
    );
    expect(harness.slack.callsOf('views.open', mark)).toEqual([]);
    expect(harness.slack.callsOf('chat.update', mark)).toEqual([]);
    for (const who of ['alice', 'bob'])
      expect((await item(id, seq(who))).decided_by).not.toBe('mia');
  }, 60_000);

  test('a message Slack will not update leaves the decision recorded and says so in a message of its own', async () => {
    const { id, seq, message } = await launch();
    harness.slack.failNext('chat.update', 'message_not_found');
    const mark = harness.slack.mark();
    await click('U0MIA', message, 'campaign_certify', seq('carol'));
    expect(String((await whisperTo('U0MIA', mark)).text)).toBe(`Item ${seq('carol')}: certified.`);
    expect(
      harness.slack.calls.slice(mark).find((c) => c.method === 'chat.update')?.result,
    ).toMatchObject({
      ok: false,
    });
    expect(await item(id, seq('carol'))).toMatchObject({ decision: 'certify', decided_by: 'mia' });
  });
});
