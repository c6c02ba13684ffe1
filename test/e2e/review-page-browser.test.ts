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
// Logins the policy does not know, which the fallback group reviews too: more than a page of them.
const many = { role: `${prefix}_many`, alpha: 215, beta: 10 };
const unknown = [
  ...Array.from({ length: many.alpha }, (_, i) => login(`alpha${String(i + 1).padStart(3, '0')}`)),
  ...Array.from({ length: many.beta }, (_, i) => login(`beta${String(i + 1).padStart(3, '0')}`)),
];

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
      {
        id: 'target/many',
        system: 'target',
        role: many.role,
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
  await harness.jit.createRoles(
    { name: many.role },
    ...unknown.map((name) => ({ name, login: true })),
  );
  await superuserQuery(`GRANT "${many.role}" TO ${unknown.map((name) => `"${name}"`).join(', ')}`);
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
      scope: { entitlements: ['target/read'] },
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
      '1 item revoked',
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

  it('pages a long list by its links, keeps the filter, decides on the page shown', async () => {
    const deps = {
      db: harness.jit.db,
      temporal: harness.jit.client,
      policy: () => harness.jit.policy,
      taskQueue: harness.jit.taskQueue,
    };
    const name = `Many ${prefix}`;
    const { id } = await new CampaignService(deps).start('sam', {
      name,
      scope: { entitlements: ['target/many'] },
      deadline: '5m',
    });
    await waitFor(
      'reviewing',
      async () => (await findCampaign(harness.jit.db, id))?.status === 'REVIEWING',
      60_000,
    );
    const mail = await harness.mail('rita@example.test', `Access review: ${name}`);
    const link = /(http:\/\/\S+\/review\?token=\S+)/.exec(mail.parsed.text ?? '')![1];
    const page = await browser.newPage();
    const nav = () => page.locator('nav').first().textContent();
    await page.goto(link);
    await expect(nav()).resolves.toContain('Items 1-200 of 225.');
    expect(await page.locator('tr[data-item]').count()).toBe(200);

    await page.fill('input[name="filter"]', 'alpha');
    await page.click('button:text("Filter")');
    await expect(nav()).resolves.toContain('Items 1-200 of 215 matching "alpha".');
    await page.locator('nav').first().locator('a:text("Next")').click();
    await expect(nav()).resolves.toContain('Items 201-215 of 215 matching "alpha".');
    expect(await page.locator('tr[data-item]').count()).toBe(15);

    const last = login('alpha215');
    const row = page.locator('tr[data-item]', { hasText: last });
    const seq = Number(await row.getAttribute('data-item'));
    await row.locator('input[name="item"]').check();
    await page.click('button[value="certify"]');
    await expect(page.locator('[role="status"]').textContent()).resolves.toContain(
      '1 item certified',
    );
    // The answer is the same page of the same filtered list, with the item now decided.
    await expect(nav()).resolves.toContain('Items 201-215 of 215 matching "alpha".');
    expect(await page.locator('tr[data-item]').count()).toBe(14);
    await expect(
      page.locator('p', { hasText: 'pending your decision' }).textContent(),
    ).resolves.toContain('224 of 225 items pending your decision.');
    const [item] = await itemsPage(harness.jit.db, id, seq - 1, 1);
    expect(item).toMatchObject({ identity: last, decision: 'certify', decided_by: 'rita' });
    await page.close();
  });
});
