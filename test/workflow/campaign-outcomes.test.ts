import { revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import { findGrant } from '../../store/grants';
import { listAuditEvents } from '../../store/audit';
import { findCampaign, itemsPage } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { campaignFixture } from '../support/campaign-fixtures';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const run = uniqueName('camo');
const { policy, login, roles, members, restoreMemberships } = campaignFixture(run);
// rita alone reads the lonely role, and she is the whole fallback group: nobody can review her.
const lonely = `${run}_lonely`;
policy.entitlements!.push({
  id: 'target/lonely',
  system: 'target',
  role: lonely,
  riskTier: 'low',
  maxDuration: '1h',
  approval: { required: 0 },
});

const harness = new CampaignHarness(policy);

beforeAll(async () => {
  await harness.start();
  await harness.memberships([roles.read, roles.write, lonely], {
    ...members,
    [login('rita')]: [lonely],
    [login('sam')]: [],
  });
}, 120_000);

afterAll(() => harness.stop(), 60_000);

beforeEach(async () => {
  await restoreMemberships();
  await superuserQuery(`REVOKE "${roles.read}" FROM "${login('sam')}"`).catch(() => undefined);
});

const itemsOf = async (campaignId: string) => itemsPage(harness.db, campaignId, 0, 1_000);
const actionsOf = async (campaignId: string) =>
  (await listAuditEvents(harness.db, { subject: `campaign/${campaignId}` })).map((e) => e.action);
const readers = ['alice', 'bob', 'carol', 'mia', 'svc-etl'];
const stillRead = async () => {
  const kept = [];
  for (const who of readers) if (await harness.jit.isMember(roles.read, login(who))) kept.push(who);
  return kept;
};

describe('the end of a campaign', () => {
  it('answers a delegation at once even while the mail server refuses the notice', async () => {
    const name = `slow mail ${run}`;
    const id = await harness.launch({
      name,
      deadline: '60s',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const bob = (await itemsOf(id)).find((i) => i.identity === 'bob')!;
    harness.smtp.refusing = true;
    try {
      // While every notice is refused, an answer that waited on it would never come (the test
      // would time out); it comes, and the notice has not gone out yet.
      await harness.service.delegate('mia', id, [bob.seq], 'carol');
      expect((await itemsOf(id)).find((i) => i.seq === bob.seq)?.delegate).toBe('carol');
      expect(
        harness.smtp.to('carol@example.test').some((m) => m.parsed.text?.includes('delegated')),
      ).toBe(false);
    } finally {
      harness.smtp.refusing = false;
    }
    await waitFor('the delegation notice', () =>
      harness.smtp
        .to('carol@example.test')
        .some(
          (m) =>
            m.parsed.subject === `Access review: ${name}` && m.parsed.text?.includes('delegated'),
        ),
    );
    await harness.service.delegate(
      'mia',
      id,
      [(await itemsOf(id)).find((i) => i.identity === 'alice')!.seq],
      'carol',
    );
    const delegated = (await listAuditEvents(harness.db, { subject: `campaign/${id}` })).filter(
      (e) => e.action === 'campaign.delegated',
    );
    expect(delegated).toHaveLength(2);
    await harness.service.cancel('sam', id);
  });

  it('applies no default when it is cancelled while a mass revocation waits for confirmation', async () => {
    const id = await harness.launch({
      name: 'cancel the hold',
      deadline: '6s',
      default: 'revoke',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'AWAITING_CONFIRMATION');
    await harness.service.cancel('sam', id);
    await waitFor(
      'the cancellation',
      async () => (await findCampaign(harness.db, id))?.status === 'CANCELLED',
    );

    const items = await itemsOf(id);
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.decision === null && i.remediation === null)).toBe(true);
    expect(await actionsOf(id)).not.toContain('campaign.defaulted');
    const cancelled = (await listAuditEvents(harness.db, { subject: `campaign/${id}` })).find(
      (e) => e.action === 'campaign.cancelled',
    );
    expect(cancelled?.details.decisionsNotApplied).toMatchObject({ undecided: items.length });
    expect(await actionsOf(id)).toEqual(
      expect.arrayContaining([
        'campaign.started',
        'campaign.cancel_requested',
        'campaign.cancelled',
      ]),
    );
    expect(await stillRead()).toEqual(readers);
  });

  it('keeps undecided items when an admin declines a mass revocation, revoking what reviewers rejected', async () => {
    await superuserQuery(`GRANT "${roles.read}" TO "${login('sam')}"`);
    const id = await harness.launch({
      name: 'decline the hold',
      deadline: '8s',
      default: 'revoke',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const bob = (await itemsOf(id)).find((i) => i.identity === 'bob')!;
    await harness.service.decide(
      'mia',
      id,
      [{ seq: bob.seq, decision: 'revoke', reason: 'left' }],
      'api',
    );
    await harness.waitPhase(id, 'AWAITING_CONFIRMATION');
    await expect(harness.service.decline('mia', id)).rejects.toThrow(/not an admin/);

    await harness.service.decline('sam', id);
    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done).toMatchObject({ declinedBy: 'sam', remediation: { revoked: 2 } });
    await expect(harness.service.confirm('sam', id)).rejects.toThrow(
      `campaign ${id} is not waiting for a confirmation (completed)`,
    );
    const sams = (await itemsOf(id)).find((i) => i.identity === 'sam')!;
    expect(sams).toMatchObject({ decision: 'revoke', remediation: 'revoked' });
    expect(sams.reason).toMatch(/sam declined the others but may not keep their own access/);
    expect(await harness.jit.isMember(roles.read, login('sam'))).toBe(false);
    const kept = (await itemsOf(id)).filter((i) => i.seq !== bob.seq && i.seq !== sams.seq);
    expect(
      kept.every(
        (i) =>
          i.decision === 'certify' && i.reason === 'mass revocation by default declined by sam',
      ),
    ).toBe(true);
    expect(kept.every((i) => i.remediation === 'kept')).toBe(true);
    expect(await stillRead()).toEqual(readers.filter((who) => who !== 'bob'));
    expect((await findCampaign(harness.db, id))?.declinedBy).toBe('sam');
    const audit = await listAuditEvents(harness.db, { subject: `campaign/${id}` });
    expect(audit.find((e) => e.action === 'campaign.started')).toMatchObject({ actor: 'sam' });
    expect(audit.find((e) => e.action === 'campaign.revocations_declined')).toMatchObject({
      actor: 'sam',
    });
  });

  it('reminds the delegate of an item, not the reviewer who handed it over', async () => {
    const name = `delegated reminders ${run}`;
    const id = await harness.launch({
      name,
      deadline: '14s',
      remind: '7s',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const mias = (await itemsOf(id)).filter((i) => i.reviewer === 'mia').map((i) => i.seq);
    await harness.service.delegate('mia', id, mias, 'carol');
    await harness.waitPhase(id, 'COMPLETED');
    const reminders = (who: string) =>
      harness.smtp
        .to(`${who}@example.test`)
        .filter(
          (m) =>
            m.parsed.subject === `Access review: ${name}` && m.parsed.text?.startsWith('Reminder:'),
        );
    expect(reminders('carol')).toHaveLength(1);
    expect(reminders('carol')[0].parsed.text).toMatch(/^Reminder: 2 access items/);
    expect(reminders('mia')).toHaveLength(0);
    expect(reminders('rita')).toHaveLength(1);
  });

  it('leaves access alone that a request approved after the launch granted again', async () => {
    const id = await harness.launch({
      name: 'regranted',
      deadline: '8s',
      default: 'revoke',
      massRevocationShare: 1,
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const request = await harness.jit.request({
      requester: 'bob',
      entitlementId: 'target/read',
      durationMs: 600_000,
      reason: 'on call this week',
    });
    const requestId = request.workflowId.slice('jit/'.length);
    await waitFor('the grant', async () => (await findGrant(harness.db, requestId)) !== undefined);
    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done.remediation).toMatchObject({ revoked: 4, superseded: 1, failed: 0 });
    const bob = (await itemsOf(id)).find((i) => i.identity === 'bob')!;
    expect(bob).toMatchObject({ decision: 'revoke', remediation: 'superseded' });
    expect(bob.superseded_by).toBe(requestId);
    expect(await stillRead()).toEqual(['bob']);
    await request
      .executeUpdate(revokeUpdate, { args: [{ actor: 'sam', reason: 'test over' }] })
      .catch(() => undefined);
  });

  it('ends the request whose grant a campaign revoked, so its owner may ask again', async () => {
    const request = await harness.jit.request({
      requester: 'bob',
      entitlementId: 'target/read',
      durationMs: 600_000,
      reason: 'before the review',
    });
    const requestId = request.workflowId.slice('jit/'.length);
    await waitFor('the grant', async () => (await findGrant(harness.db, requestId)) !== undefined);
    const id = await harness.launch({
      name: 'revokes a grant',
      deadline: '60s',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const items = await itemsOf(id);
    for (const reviewer of new Set(items.map((i) => i.delegate ?? i.reviewer))) {
      const mine = items.filter((i) => i.reviewer === reviewer);
      const decisions = mine.map((i) =>
        i.identity === 'bob'
          ? { seq: i.seq, decision: 'revoke' as const, reason: 'not needed any more' }
          : { seq: i.seq, decision: 'certify' as const },
      );
      await harness.service.decide(reviewer, id, decisions, 'api');
    }
    await harness.waitPhase(id, 'COMPLETED');
    const ended = await waitFor('the request to end', async () => {
      const state = await request.query(statusQuery);
      return state.status === 'REVOKED' ? state : undefined;
    });
    expect(ended.revokedBy).toBe('keyward:campaign');
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(false);
    const again = await harness.jit.request({
      requester: 'bob',
      entitlementId: 'target/read',
      durationMs: 60_000,
      reason: 'asked again',
    });
    await waitFor(
      'the new grant',
      async () => (await request.query(statusQuery)).status === 'REVOKED',
    );
    await waitFor(
      'the new grant',
      async () =>
        (await findGrant(harness.db, again.workflowId.slice('jit/'.length))) !== undefined,
    );
    await again.executeUpdate(revokeUpdate, { args: [{ actor: 'sam', reason: 'test over' }] });
  });

  it('records a campaign that cannot go on as failed and tells the admins', async () => {
    const id = await harness.launch({
      name: 'nobody to review',
      deadline: '30s',
      scope: { entitlements: ['target/lonely'] },
    });
    await waitFor(
      'the failure',
      async () => (await findCampaign(harness.db, id))?.status === 'FAILED',
    );
    const campaign = await findCampaign(harness.db, id);
    expect(campaign?.failure).toMatch(/nobody but rita is in the fallback group/);
    expect(await actionsOf(id)).toContain('campaign.failed');
    await expect(
      harness.service.decide('rita', id, [{ seq: 1, decision: 'certify' }], 'api'),
    ).rejects.toThrow(`campaign ${id} failed and takes no more decisions`);
    await expect(harness.service.cancel('sam', id)).rejects.toThrow(/can no longer be cancelled/);
    await waitFor('the alert', () =>
      harness.smtp
        .to('sam@example.test')
        .some((m) => m.parsed.text?.includes(`Campaign ${id} stopped`)),
    );
  });
});
