import type { PolicyInput } from '../../domain/policy';
import { ApprovalsHarness } from '../support/approvals-harness';
import { targetSystem } from '../support/policies';
import { waitFor } from '../support/wait';

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { incidentChannel: 'CSECURITY' },
    identities: [
      { id: 'olivia', email: 'olivia@example.test', slackUserId: 'UOLIVIA' },
      { id: 'dana', email: 'dana@example.test', slackUserId: 'UDANA' },
      { id: 'erin', email: 'erin@example.test', slackUserId: 'UERIN' },
      { id: 'frank', email: 'frank@example.test', slackUserId: 'UFRANK' },
      { id: 'svc-slack', kind: 'non-human', owner: 'olivia' },
      { id: 'svc-other', kind: 'non-human', owner: 'olivia' },
    ],
    // The owner is in the group, so it is the owner rule that keeps her button away and her click out.
    groups: [{ id: 'security', members: ['dana', 'erin', 'frank', 'olivia'] }],
    systems: [targetSystem],
  };
}

const harness = new ApprovalsHarness(policy());

beforeAll(() => harness.start());
afterAll(() => harness.stop());

const RESTORE = 'approve_incident_restore';

/** The restore message posted to a Slack user, with or without its button. */
const restoreMessageTo = (channel: string, incidentId = '') =>
  waitFor(`the restore message to ${channel}`, () =>
    harness.slack
      .callsOf('chat.postMessage')
      .find(
        (m) =>
          m.channel === channel &&
          String(m.text).includes(`keyward incident restore ${incidentId}`) &&
          JSON.stringify(m.blocks ?? '').includes(incidentId),
      ),
  );

async function openIncident(as: string, identity: string): Promise<string> {
  const response = await fetch(`${harness.baseUrl}/v1/incidents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await harness.token(as)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ identity, reason: 'token in a log', severity: 'high' }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const whisperTo = (user: string, pattern: RegExp) =>
  waitFor(`an answer to ${user}`, () =>
    harness.slack
      .callsOf('chat.postEphemeral')
      .find((m) => m.user === user && pattern.test(String(m.text))),
  );

describe('restore approval in Slack', () => {
  test('offers the button to eligible approvers only, and two clicks restore', async () => {
    const response = await fetch(`${harness.baseUrl}/v1/incidents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await harness.token('dana')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ identity: 'svc-slack', reason: 'token in a log', severity: 'high' }),
    });
    const { id } = (await response.json()) as { id: string };
    const toDana = await restoreMessageTo('UDANA');
    expect(JSON.stringify(toDana.blocks)).toContain(RESTORE);
    expect(JSON.stringify(toDana.blocks)).toContain(id);
    expect((await restoreMessageTo('UOLIVIA')).blocks).toBeUndefined();
    // The security channel follows the incident, without a button anyone there could press.
    const posted = await waitFor('the notice in the security channel', () =>
      harness.slack.callsOf('chat.postMessage').find((m) => m.channel === 'CSECURITY'),
    );
    expect(String(posted.text)).toContain('svc-slack');
    expect(posted.blocks).toBeUndefined();

    await harness.click('UOLIVIA', RESTORE, id);
    await whisperTo('UOLIVIA', /Not recorded: olivia owns svc-slack/);
    await harness.click('UDANA', RESTORE, id);
    await whisperTo('UDANA', /Restore approved; the incident is CONTAINED/);
    await harness.click('UERIN', RESTORE, id);
    await whisperTo('UERIN', /Restore approved; the incident is RESTORING/);
  });

  test('refuses the click of an approver who has since been quarantined, and records nothing', async () => {
    const id = await openIncident('dana', 'svc-other');
    await restoreMessageTo('UFRANK', id);
    const against = await openIncident('dana', 'frank');
    await harness.click('UFRANK', RESTORE, id);
    await whisperTo(
      'UFRANK',
      new RegExp(`frank is quarantined by incident ${against} and may decide nothing`),
    );
    const status = await fetch(`${harness.baseUrl}/v1/incidents/${id}`, {
      headers: { authorization: `Bearer ${await harness.token('dana')}` },
    });
    expect(((await status.json()) as { approvals: unknown[] }).approvals).toEqual([]);
  });
});
