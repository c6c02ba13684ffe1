import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import type { PolicyInput } from '../../domain/policy';
import { CampaignService } from '../../server/campaigns';
import { findCampaign, itemsPage } from '../../store/campaigns';
import { ApprovalsHarness } from '../support/approvals-harness';
import { targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const prefix = uniqueName('rp');
const login = (id: string) => `${prefix}_${id}`;
const role = `${prefix}_read`;
// None of them has a manager, so rita (the fallback group) reviews all three.
const members = ['carol', 'dave', 'erin'];

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { adminGroup: 'security', campaignFallbackGroup: 'fallback' },
    identities: [
      ...members.map((id) => ({ id, logins: { target: login(id) } })),
      { id: 'rita', email: 'rita@example.test' },
      { id: 'sam' },
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

const harness = new ApprovalsHarness(policy(), { slack: false });
const profile = mkdtempSync(join(tmpdir(), 'keyward-chromium-'));
let browser: BrowserContext;

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles(
    { name: role },
    ...members.map((id) => ({ name: login(id), login: true })),
  );
  await superuserQuery(`GRANT "${role}" TO ${members.map((id) => `"${login(id)}"`).join(', ')}`);
  // A fresh profile (playwright passes it as --user-data-dir) and no background traffic: the browser
  // talks only to keyward on loopback.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness.stop();
  rmSync(profile, { recursive: true, force: true });
}, 60_000);

describe('the review page in a browser', () => {
  it('opens from the signed link, certifies in bulk, revokes one with a reason, refuses a tampered link', async () => {
    const deps = {
      db: harness.jit.db,
      temporal: harness.jit.client,
      policy: () => harness.jit.policy,
      taskQueue: harness.jit.taskQueue,
    };
    const { id } = await new CampaignService(deps).start('sam', {
      name: `Browser ${prefix}`,
      deadline: '5m',
    });
    await waitFor(
      'reviewing',
      async () => (await findCampaign(harness.jit.db, id))?.status === 'REVIEWING',
      60_000,
    );
    const items = await itemsPage(harness.jit.db, id, 0, 10);
    const seqOf = (identity: string) => items.find((i) => i.identity === identity)!.seq;

    const mail = await harness.mail('rita@example.test', `Access review: Browser ${prefix}`);
    const link = /(http:\/\/\S+\/review\?token=\S+)/.exec(mail.parsed.text ?? '')![1];
    const page = await browser.newPage();
    await page.goto(link);
    await expect(page.locator('h2').textContent()).resolves.toContain(`Browser ${prefix}`);
    expect(await page.locator('tr[data-item]').count()).toBe(3);

    await page.check(`input[name="item"][value="${seqOf('carol')}"]`);
    await page.check(`input[name="item"][value="${seqOf('dave')}"]`);
    await page.click('button[value="certify"]');
    await expect(page.locator('[role="status"]').textContent()).resolves.toContain(
      '2 items certified',
    );

    await page.check(`input[name="item"][value="${seqOf('erin')}"]`);
    await page.fill(`input[name="reason-${seqOf('erin')}"]`, 'moved to another team');
    await page.click('button[value="revoke"]');
    await expect(page.locator('[role="status"]').textContent()).resolves.toContain(
      '1 items revoked',
    );
    expect(await page.locator('tr[data-item]').count()).toBe(0);

    const decided = await itemsPage(harness.jit.db, id, 0, 10);
    expect(decided.find((i) => i.identity === 'erin')).toMatchObject({
      decision: 'revoke',
      reason: 'moved to another team',
    });
    expect(
      decided
        .filter((i) => i.decision === 'certify')
        .map((i) => i.identity)
        .sort(),
    ).toEqual(['carol', 'dave']);
    await waitFor(
      'erin revoked',
      async () => !(await harness.jit.isMember(role, login('erin'))),
      60_000,
    );

    const [body, mac] = new URL(link).searchParams.get('token')!.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), reviewer: 'sam' }),
    );
    const tampered = await page.goto(
      `${harness.baseUrl}/review?token=${forged.toString('base64url')}.${mac}`,
    );
    expect(tampered?.status()).toBe(403);
    await expect(page.locator('body').textContent()).resolves.toContain('altered');
    await page.close();
  });
});
