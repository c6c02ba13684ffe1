import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PolicyInput } from '../../domain/policy';
import { listAuditEvents } from '../../store/audit';
import { findCampaign, itemsPage } from '../../store/campaigns';
import { ApprovalsHarness, pageForm } from '../support/approvals-harness';
import { targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const run = promisify(execFile);
const prefix = uniqueName('cc');
const login = (id: string) => `${prefix}_${id}`;
const roles = { read: `${prefix}_read`, write: `${prefix}_write` };

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
      person('carol', 'U0CAROL'),
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
        role: roles.read,
        riskTier: 'low',
        maxDuration: '1h',
        approval: { required: 0 },
      },
      {
        id: 'target/write',
        system: 'target',
        role: roles.write,
        riskTier: 'high',
        maxDuration: '1h',
        approval: { required: 1, from: ['security'] },
      },
    ],
  };
}

const harness = new ApprovalsHarness(policy());
const outDir = mkdtempSync(join(tmpdir(), 'keyward-evidence-'));

/** The real `keyward` command, against the harness's server with `identity`'s token. */
async function keyward(identity: string, ...args: string[]) {
  const env = {
    ...process.env,
    KEYWARD_API_URL: harness.baseUrl,
    KEYWARD_TOKEN: await harness.token(identity),
  };
  const { stdout } = await run(process.execPath, [join(root, 'bin', 'keyward.js'), ...args], {
    cwd: root,
    env,
  });
  return stdout;
}

function clickItem(userId: string, actionId: string, value: string) {
  const payload = {
    type: 'block_actions',
    user: { id: userId, team_id: 'T0001' },
    team: { id: 'T0001' },
    api_app_id: 'A0001',
    trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
    channel: { id: `D${userId.slice(1)}` },
    container: { type: 'message', channel_id: `D${userId.slice(1)}`, message_ts: '1.0' },
    actions: [
      { type: 'button', action_id: actionId, block_id: 'campaign_item', value, action_ts: '1.1' },
    ],
  };
  return harness.deliver({ form: { payload: JSON.stringify(payload) } });
}

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles({ name: roles.read }, { name: roles.write });
  await harness.jit.createRoles(
    ...['alice', 'bob', 'carol', 'mia'].map((id) => ({ name: login(id), login: true })),
  );
  await superuserQuery(
    `GRANT "${roles.read}" TO ${['alice', 'bob', 'carol', 'mia'].map((id) => `"${login(id)}"`).join(', ')}`,
  );
  await superuserQuery(`GRANT "${roles.write}" TO "${login('alice')}"`);
}, 120_000);

afterAll(async () => {
  await harness.stop();
  rmSync(outDir, { recursive: true, force: true });
}, 60_000);

describe('a small campaign end to end', () => {
  it('takes decisions from Slack, the review page and the CLI, revokes rejected access, exports evidence', async () => {
    const started = JSON.parse(
      await keyward(
        'sam',
        'campaign',
        'start',
        '--name',
        'Q1 target',
        '--scope',
        'system=target',
        '--deadline',
        '5m',
        '--json',
      ),
    ) as { id: string };
    const id = started.id;
    await waitFor(
      'reviewing',
      async () => (await findCampaign(harness.jit.db, id))?.status === 'REVIEWING',
      60_000,
    );
    const items = await itemsPage(harness.jit.db, id, 0, 100);
    const seq = (identity: string, entitlement = 'target/read') =>
      items.find((i) => i.identity === identity && i.entitlement_id === entitlement)!.seq;

    // Slack: mia has three items, so her one message carries a button per item.
    const message = await waitFor('the Slack message to mia', () =>
      harness.slack
        .callsOf('chat.postMessage')
        .find((m) => m.channel === 'U0MIA' && JSON.stringify(m.blocks).includes(id)),
    );
    const buttons = (
      message.blocks as { elements?: { action_id: string; value: string }[] }[]
    ).flatMap((b) => b.elements ?? []);
    expect(buttons.filter((b) => b.action_id === 'campaign_certify')).toHaveLength(3);
    const certifyAlice = buttons.find(
      (b) => b.action_id === 'campaign_certify' && JSON.parse(b.value).seq === seq('alice'),
    )!;
    await clickItem('U0MIA', 'campaign_certify', certifyAlice.value);
    await waitFor(
      'the Slack decision',
      async () =>
        (await itemsPage(harness.jit.db, id, 0, 100)).find((i) => i.seq === seq('alice'))
          ?.decision === 'certify',
    );

    // The review page: rita reviews carol (no manager) through the link in her email.
    const mail = await harness.mail('rita@example.test', 'Access review: Q1 target');
    const link = /(http:\/\/\S+\/review\?token=\S+)/.exec(mail.parsed.text ?? '')![1];
    const shown = await (await harness.open(link)).text();
    expect(shown).toContain(`value="${seq('carol')}"`);
    const form = pageForm(shown.slice(shown.indexOf('<form method="post"')));
    const revoked = await harness.post('/review', {
      token: form.fields.token,
      item: String(seq('carol')),
      [`reason-${seq('carol')}`]: 'no longer on the project',
      action: 'revoke',
    });
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain('1 item revoked');
    const tampered = await harness.open(
      link.replace(/token=(.)/, (_, c: string) => `token=${c === 'A' ? 'B' : 'A'}`),
    );
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('content-type')).toMatch(/^text\/html/);

    // The CLI: mia revokes bob and certifies alice's write access; sam certifies mia. A revocation
    // without its reason is refused before anything is sent.
    await expect(
      keyward('mia', 'campaign', 'revoke', id, String(seq('bob'))),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('a revocation needs a reason: add --reason'),
    });
    expect((await itemsPage(harness.jit.db, id, seq('bob') - 1, 1))[0].decision).toBeNull();
    await keyward('mia', 'campaign', 'revoke', id, String(seq('bob')), '--reason', 'left the team');
    await keyward('mia', 'campaign', 'certify', id, String(seq('alice', 'target/write')));
    await keyward('sam', 'campaign', 'certify', id, String(seq('mia')));

    await waitFor(
      'completion',
      async () => (await findCampaign(harness.jit.db, id))?.status === 'COMPLETED',
      90_000,
    );
    expect(await harness.jit.isMember(roles.read, login('bob'))).toBe(false);
    expect(await harness.jit.isMember(roles.read, login('carol'))).toBe(false);
    expect(await harness.jit.isMember(roles.read, login('alice'))).toBe(true);
    expect(await harness.jit.isMember(roles.write, login('alice'))).toBe(true);
    expect(await harness.jit.isMember(roles.read, login('mia'))).toBe(true);

    const status = JSON.parse(await keyward('sam', 'campaign', 'status', id, '--json'));
    expect(status.totals).toEqual({ items: 5, decided: 5, pending: 0 });

    await keyward('sam', 'campaign', 'export', id, '--out', outDir);
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as {
      sha256: Record<string, string>;
      auditChain: { events: number; firstSeq: number; lastSeq: number; lastHash: string };
    };
    for (const [file, hash] of Object.entries(manifest.sha256)) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(outDir, file)))
          .digest('hex'),
      ).toBe(hash);
    }
    const exported = JSON.parse(readFileSync(join(outDir, 'items.json'), 'utf8')) as Record<
      string,
      unknown
    >[];
    const audit = JSON.parse(readFileSync(join(outDir, 'audit.json'), 'utf8')) as {
      seq: number;
      hash: string;
      action: string;
      actor: string;
      details: { channel: string; decisions: { seq: number; decision: string }[] };
    }[];
    // The manifest places the campaign's events in the audit chain, which the log still holds.
    expect(manifest.auditChain).toEqual({
      events: audit.length,
      firstSeq: audit[0].seq,
      lastSeq: audit.at(-1)!.seq,
      lastHash: audit.at(-1)!.hash,
    });
    const verdict = JSON.parse(
      await keyward('sam', 'audit', 'verify', '--anchor', manifest.auditChain.lastHash, '--json'),
    );
    expect(verdict).toMatchObject({ ok: true, anchorAt: manifest.auditChain.lastSeq });
    const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
    expect(summary.remediation).toEqual({ revoked: 2, failed: 0, superseded: 0, kept: 3 });
    expect(summary.auditChain).toEqual(manifest.auditChain);
    const fromAudit = audit
      .filter((e) => e.action === 'campaign.decided')
      .flatMap((e) =>
        e.details.decisions.map((d) => ({ item: d.seq, decision: d.decision, decidedBy: e.actor })),
      );
    expect(fromAudit.sort((a, b) => a.item - b.item)).toEqual(
      exported.map((i) => ({ item: i.item, decision: i.decision, decidedBy: i.decidedBy })),
    );
    expect(
      new Set(audit.filter((e) => e.action === 'campaign.decided').map((e) => e.details.channel)),
    ).toEqual(new Set(['slack', 'review-page', 'api']));
    expect(exported.find((i) => i.item === seq('carol'))).toMatchObject({
      remediation: 'revoked',
      remediationAttempts: 1,
      supersededBy: null,
      reason: 'no longer on the project',
    });
    expect(readFileSync(join(outDir, 'items.csv'), 'utf8').split('\n')[0]).toContain('reviewer');

    // A second export never replaces the evidence given to an auditor; a new directory is made.
    const before = readFileSync(join(outDir, 'manifest.json'), 'utf8');
    const again = keyward('sam', 'campaign', 'export', id, '--out', outDir);
    await expect(again).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `${outDir} already holds items.csv, items.json, audit.json, summary.json, manifest.json; nothing was written`,
      ),
    });
    expect(readFileSync(join(outDir, 'manifest.json'), 'utf8')).toBe(before);
    const fresh = join(outDir, 'again', 'q1');
    await keyward('sam', 'campaign', 'export', id, '--out', fresh);
    expect(readFileSync(join(fresh, 'manifest.json'), 'utf8')).toBe(before);
    // Each export is in the audit log under the admin's name, though not in the evidence itself.
    const exports = (await listAuditEvents(harness.jit.db, { subject: `campaign/${id}` })).filter(
      (e) => e.action === 'campaign.exported',
    );
    expect(exports.length).toBeGreaterThanOrEqual(2);
    expect(exports.every((e) => e.actor === 'sam')).toBe(true);
  });
});
