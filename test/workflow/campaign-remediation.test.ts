import { randomBytes } from 'node:crypto';
import { remediationWorkflowId } from '../../domain/campaign';
import type { PolicyInput } from '../../domain/policy';
import { listAuditEvents } from '../../store/audit';
import { itemsPage } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { ident } from '../support/jit-harness';
import { superuserQuery, testServers, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// keyward reaches this system as a login that may list the role's members but not revoke them,
// as a target whose administrators took keyward's rights away would.
const run = uniqueName('rem');
const role = `${run}_data`;
const keywardLogin = `${run}_keyward`;
const password = randomBytes(12).toString('hex');
const logins = [`${run}_u1`, `${run}_u2`];
const LIMITED_ENV = 'KEYWARD_TEST_LIMITED_URL';

function limitedUrl(): string {
  const url = new URL(testServers().pgUrl);
  url.username = keywardLogin;
  url.password = password;
  return url.toString();
}

const policy: PolicyInput = {
  version: 1,
  settings: { adminGroup: 'security', campaignRemediationRetry: '60s' },
  identities: [
    { id: 'sam', email: 'sam@example.test' },
    ...logins.map((login, i) => ({ id: `u${i + 1}`, manager: 'sam', logins: { limited: login } })),
  ],
  groups: [{ id: 'security', members: ['sam'] }],
  systems: [{ id: 'limited', type: 'postgres', connection: `env:${LIMITED_ENV}` }],
  entitlements: [
    {
      id: 'limited/data',
      system: 'limited',
      role,
      riskTier: 'low',
      maxDuration: '1h',
      approval: { required: 0 },
    },
  ],
};

const harness = new CampaignHarness(policy, undefined, { env: { [LIMITED_ENV]: limitedUrl() } });

beforeAll(async () => {
  await harness.start();
  await harness.memberships([role], Object.fromEntries(logins.map((login) => [login, [role]])));
  await harness.jit.createRoles({ name: keywardLogin, login: true });
  await superuserQuery(`ALTER ROLE ${ident(keywardLogin)} PASSWORD '${password}'`);
}, 120_000);

afterAll(() => harness.stop(), 60_000);

describe('revocations a target refuses', () => {
  it('retries them, reports them to the admins, and revokes them when an admin runs remediation again', async () => {
    const id = await harness.launch({
      name: 'refused',
      deadline: '4s',
      default: 'revoke',
      massRevocationShare: 1,
    });
    await harness.waitPhase(id, 'REMEDIATING');
    await expect(harness.service.cancel('sam', id)).rejects.toThrow(
      `campaign ${id} can no longer be cancelled: it is applying its decisions and goes on to its end`,
    );
    const done = await harness.waitPhase(id, 'COMPLETED', 120_000);
    expect(done.remediation).toMatchObject({ revoked: 0, failed: 2 });
    const items = await itemsPage(harness.db, id, 0, 10);
    for (const item of items) {
      expect(item).toMatchObject({
        decision: 'revoke',
        remediation: 'failed',
        remediated_at: null,
      });
      expect(item.remediation_attempts).toBeGreaterThanOrEqual(3);
      expect(item.remediation_error).toMatch(/permission denied/);
    }
    for (const login of logins) expect(await harness.jit.isMember(role, login)).toBe(true);
    const subjects = harness.smtp.to('sam@example.test').map((m) => m.parsed.subject);
    expect(subjects).toEqual(
      expect.arrayContaining(['Campaign revocations are failing', 'Campaign revocations failed']),
    );
    const final = harness.smtp
      .to('sam@example.test')
      .find((m) => m.parsed.subject === 'Campaign revocations failed');
    expect(final?.parsed.text).toContain(`keyward campaign remediate ${id}`);

    await expect(harness.service.remediate('u1', id)).rejects.toThrow('u1 is not an admin');
    await superuserQuery(`ALTER ROLE ${ident(keywardLogin)} SUPERUSER`);
    expect(await harness.service.remediate('sam', id)).toMatchObject({ failed: 2 });
    const rerun = await harness.client.workflow.getHandle(remediationWorkflowId(id)).result();
    expect(rerun).toMatchObject({ revoked: 2, failed: 0 });
    for (const login of logins) expect(await harness.jit.isMember(role, login)).toBe(false);
    const audit = await listAuditEvents(harness.db, { subject: `campaign/${id}` });
    expect(audit.find((e) => e.action === 'campaign.remediation_rerun')).toMatchObject({
      actor: 'sam',
    });
    await expect(harness.service.remediate('sam', id)).rejects.toThrow(
      `campaign ${id} has no failed revocations`,
    );
    await waitFor('the items to be revoked', async () =>
      (await itemsPage(harness.db, id, 0, 10)).every(
        (i) => i.remediation === 'revoked' && i.remediated_at,
      ),
    );
  }, 180_000);
});
