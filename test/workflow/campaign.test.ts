import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import type { PolicyInput } from '../../domain/policy';
import { CampaignService } from '../../server/campaigns';
import { listAuditEvents } from '../../store/audit';
import { findCampaign, itemsPage } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { campaignFixture } from '../support/campaign-fixtures';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const run = uniqueName('camp');
const { policy, login, roles, members, restoreMemberships } = campaignFixture(run);

const harness = new CampaignHarness(policy);

function viewOf(document: PolicyInput): PolicyView {
  const result = validatePolicy(document);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new PolicyView(result.policy);
}

beforeAll(async () => {
  await harness.start();
  await harness.memberships([roles.read, roles.write], members);
}, 120_000);

afterAll(() => harness.stop(), 60_000);

beforeEach(restoreMemberships);

/** Cancels a campaign and waits until its record says so: nothing of it is left running. */
async function cancel(id: string) {
  await harness.service.cancel('sam', id);
  await waitFor(
    'the cancellation',
    async () => (await findCampaign(harness.db, id))?.status === 'CANCELLED',
  );
}

const itemsOf = async (campaignId: string) => itemsPage(harness.db, campaignId, 0, 1_000);
const seqOf = async (campaignId: string, identity: string, entitlement = 'target/read') =>
  (await itemsOf(campaignId)).find(
    (i) => i.identity === identity && i.entitlement_id === entitlement,
  )!.seq;

describe('access certification campaigns', () => {
  it('revokes rejected memberships on the target, keeps certified ones and records each decision', async () => {
    const id = await harness.launch({
      name: 'Q1 target',
      deadline: '60s',
      scope: { systems: ['target'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const items = await itemsOf(id);
    expect(items).toHaveLength(6);
    expect(items.every((i) => i.identity !== i.reviewer)).toBe(true);
    const reviewerOf = Object.fromEntries(
      items.map((i) => [`${i.identity}:${i.entitlement_id}`, i.reviewer]),
    );
    expect(reviewerOf['alice:target/read']).toBe('mia');
    expect(reviewerOf['mia:target/read']).toBe('sam');
    expect(reviewerOf['carol:target/read']).toBe('rita');
    expect(reviewerOf['svc-etl:target/read']).toBe('rita');

    const bobRead = await seqOf(id, 'bob');
    const aliceRead = await seqOf(id, 'alice');
    const aliceWrite = await seqOf(id, 'alice', 'target/write');
    await harness.service.decide('mia', id, [{ seq: aliceRead, decision: 'certify' }], 'api');
    await harness.service.decide(
      'mia',
      id,
      [{ seq: aliceWrite, decision: 'revoke', reason: 'no longer writes' }],
      'api',
    );
    await harness.service.decide(
      'mia',
      id,
      [{ seq: bobRead, decision: 'revoke', reason: 'left the team' }],
      'api',
    );
    const rest = (await itemsOf(id)).filter((i) => i.reviewer !== 'mia');
    for (const item of rest) {
      await harness.service.decide(
        item.reviewer,
        id,
        [{ seq: item.seq, decision: 'certify' }],
        'api',
      );
    }

    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done.remediation.revoked).toBe(2);
    expect(await harness.jit.isMember(roles.write, login('alice'))).toBe(false);
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(false);
    expect(await harness.jit.isMember(roles.read, login('alice'))).toBe(true);
    expect(await harness.jit.isMember(roles.read, login('carol'))).toBe(true);

    const exported = await harness.service.export('sam', id);
    const decided = exported.audit
      .filter((e) => e.action === 'campaign.decided')
      .flatMap((e) =>
        (e.details.decisions as { seq: number; decision: string }[]).map((d) => [
          d.seq,
          d.decision,
        ]),
      );
    expect(new Map(decided as [number, string][])).toEqual(
      new Map(exported.items.map((i) => [i.item, i.decision] as [number, string])),
    );
    expect(exported.items.find((i) => i.item === bobRead)).toMatchObject({
      decision: 'revoke',
      reason: 'left the team',
      decidedBy: 'mia',
      remediation: 'revoked',
    });
  });

  it('gives undecided items the keep default at the deadline and revokes nothing', async () => {
    const id = await harness.launch({ name: 'keep default', deadline: '8s', default: 'keep' });
    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done.certified).toBe(6);
    expect(done.remediation.revoked).toBe(0);
    const items = await itemsOf(id);
    expect(items.every((i) => i.decision === 'certify' && i.decided_by === 'keyward:default')).toBe(
      true,
    );
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(true);
  });

  it('revokes undecided items at the deadline when the default is revoke and the share is allowed', async () => {
    const id = await harness.launch({
      name: 'revoke default',
      deadline: '10s',
      default: 'revoke',
      massRevocationShare: 1,
      scope: { entitlements: ['target/write'] },
    });
    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done.defaultRevocations).toBe(1);
    expect(await harness.jit.isMember(roles.write, login('alice'))).toBe(false);
    expect(await harness.jit.isMember(roles.read, login('alice'))).toBe(true);
  });

  it('waits for an admin to confirm before a default revokes more than the allowed share', async () => {
    const id = await harness.launch({ name: 'mass revoke', deadline: '8s', default: 'revoke' });
    await harness.waitPhase(id, 'AWAITING_CONFIRMATION');
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(true);
    await expect(harness.service.confirm('mia', id)).rejects.toThrow(/not an admin/);
    // The workflow knows the admins of its launch; one taken out of the group since is refused first.
    const removed = viewOf({
      ...policy,
      groups: [{ id: 'security', members: ['rita'] }, ...policy.groups!.slice(1)],
    });
    const now = new CampaignService({ ...harness.deps, policy: () => removed });
    await expect(now.confirm('sam', id)).rejects.toMatchObject({
      statusCode: 403,
      message: 'sam is not an admin',
    });
    expect((await harness.state(id)).phase).toBe('AWAITING_CONFIRMATION');

    await harness.service.confirm('sam', id);
    const done = await harness.waitPhase(id, 'COMPLETED');
    expect(done.confirmedBy).toBe('sam');
    expect(done.remediation.revoked).toBe(6);
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(false);
    expect(
      await waitFor('the admin notice', () => harness.smtp.to('sam@example.test').length > 0),
    ).toBe(true);
  });

  it('refuses a decision that arrives after the deadline, with the deadline named', async () => {
    const id = await harness.launch({ name: 'late', deadline: '5s' });
    await harness.waitPhase(id, 'COMPLETED');
    const seq = await seqOf(id, 'bob');
    await expect(
      harness.service.decide('mia', id, [{ seq, decision: 'revoke', reason: 'late' }], 'api'),
    ).rejects.toThrow(/deadline of campaign .* passed at .*; decisions are no longer accepted/);
    expect((await itemsOf(id)).find((i) => i.seq === seq)!.decided_by).toBe('keyward:default');
  });

  it('reminds only reviewers who still have pending items', async () => {
    const name = `reminders ${run}`;
    const id = await harness.launch({
      name,
      deadline: '16s',
      remind: '8s',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    // The launch notice goes out only while something is pending: mia decides once she has it.
    await waitFor('mia to be told', () =>
      harness.smtp
        .to('mia@example.test')
        .some((m) => m.parsed.subject === `Access review: ${name}`),
    );
    const mine = (await itemsOf(id)).filter((i) => i.reviewer === 'mia');
    await harness.service.decide(
      'mia',
      id,
      mine.map((i) => ({ seq: i.seq, decision: 'certify' as const })),
      'api',
    );
    await harness.waitPhase(id, 'COMPLETED');
    const texts = (who: string) =>
      harness.smtp
        .to(`${who}@example.test`)
        .filter((m) => m.parsed.subject === `Access review: ${name}`)
        .map((m) => m.parsed.text ?? '');
    expect(texts('mia')).toHaveLength(1);
    expect(texts('rita').filter((text) => text.startsWith('Reminder:'))).toHaveLength(1);
    expect(texts('mia').filter((text) => text.startsWith('Reminder:'))).toHaveLength(0);
  });

  it("escalates pending items to the reviewer's manager, who may then decide them", async () => {
    const name = `escalation ${run}`;
    const id = await harness.launch({
      name,
      deadline: '40s',
      escalateAfter: '3s',
      scope: { entitlements: ['target/read'] },
    });
    await harness.waitPhase(id, 'REVIEWING');
    const bob = await seqOf(id, 'bob');
    await waitFor(
      'the escalation',
      async () => (await itemsOf(id)).find((i) => i.seq === bob)?.escalated_to === 'sam',
    );
    await harness.service.decide(
      'sam',
      id,
      [{ seq: bob, decision: 'revoke', reason: 'escalated' }],
      'api',
    );
    expect((await itemsOf(id)).find((i) => i.seq === bob)).toMatchObject({
      decision: 'revoke',
      decided_by: 'sam',
    });
    await waitFor('the escalation email', () =>
      harness.smtp
        .to('sam@example.test')
        .some((m) => m.parsed.subject === `Access review: ${name}`),
    );
    await cancel(id);
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(true);
  });

  it('never lets anyone review their own access and gives it to the fallback group instead', async () => {
    const id = await harness.launch({
      name: 'self review',
      deadline: '30s',
      reviewers: 'group:leads',
    });
    await harness.waitPhase(id, 'REVIEWING');
    const mias = (await itemsOf(id)).find((i) => i.identity === 'mia')!;
    expect(mias.reviewer).toBe('rita');
    await expect(
      harness.service.decide('mia', id, [{ seq: mias.seq, decision: 'certify' }], 'api'),
    ).rejects.toThrow(/may not review their own access|not a reviewer/);
    await cancel(id);
  });

  it('lets a reviewer delegate an item to another reviewer, who decides it', async () => {
    const id = await harness.launch({ name: 'delegation', deadline: '30s' });
    await harness.waitPhase(id, 'REVIEWING');
    const bob = await seqOf(id, 'bob');
    await expect(harness.service.delegate('mia', id, [bob], 'bob')).rejects.toThrow(/own access/);
    await expect(harness.service.delegate('mia', id, [bob], 'svc-etl')).rejects.toThrow(
      'svc-etl is not a person; only people review access',
    );
    await harness.service.delegate('mia', id, [bob], 'carol');
    await expect(
      harness.service.decide('rita', id, [{ seq: bob, decision: 'certify' }], 'api'),
    ).rejects.toThrow(/not a reviewer/);
    await harness.service.decide('carol', id, [{ seq: bob, decision: 'certify' }], 'api');
    expect((await itemsOf(id)).find((i) => i.seq === bob)).toMatchObject({
      delegate: 'carol',
      decided_by: 'carol',
    });
    const audit = await listAuditEvents(harness.db, { subject: `campaign/${id}` });
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['campaign.delegated', 'campaign.decided']),
    );
    await cancel(id);
  });

  it('refuses to start a campaign under an id it already holds, and keeps its evidence', async () => {
    const id = await harness.launch({ name: 'once', deadline: '30s' });
    await harness.waitPhase(id, 'REVIEWING');
    const bob = await seqOf(id, 'bob');
    await harness.service.decide('mia', id, [{ seq: bob, decision: 'certify' }], 'api');
    await cancel(id);
    await expect(
      harness.service.start('sam', { id, name: 'again', deadline: '30s' }),
    ).rejects.toThrow(`campaign ${id} already exists (cancelled)`);
    expect((await itemsOf(id)).find((i) => i.seq === bob)).toMatchObject({
      decision: 'certify',
      decided_by: 'mia',
    });
  });
});
