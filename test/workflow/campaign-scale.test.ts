import type { PolicyInput } from '../../domain/policy';
import { itemsOfReviewer } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';

// 100 identities, each a member of 50 roles: 5,000 items for 50 reviewers.
const run = uniqueName('scale');
const IDENTITIES = 100;
const ROLES = 50;
const REVIEWERS = 50;
const HISTORY_LIMIT = 10_000;
const roleName = (i: number) => `${run}_r${i}`;
const loginOf = (i: number) => `${run}_u${i}`;

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { adminGroup: 'security' },
    identities: [
      { id: 'sam' },
      ...Array.from({ length: REVIEWERS }, (_, i) => ({ id: `m${i}`, manager: 'sam' })),
      ...Array.from({ length: IDENTITIES }, (_, i) => ({
        id: `u${i}`,
        manager: `m${i % REVIEWERS}`,
        logins: { target: loginOf(i) },
      })),
    ],
    groups: [{ id: 'security', members: ['sam'] }],
    systems: [targetSystem],
    entitlements: Array.from({ length: ROLES }, (_, i) => ({
      id: `target/r${i}`,
      system: 'target',
      role: roleName(i),
      riskTier: 'low' as const,
      maxDuration: '1h',
      approval: { required: 0 },
    })),
  };
}

const harness = new CampaignHarness(policy());

beforeAll(async () => {
  await harness.start();
  await harness.everyLoginInEveryRole(
    Array.from({ length: ROLES }, (_, i) => roleName(i)),
    Array.from({ length: IDENTITIES }, (_, i) => loginOf(i)),
  );
}, 180_000);

afterAll(() => harness.stop(), 120_000);

describe('a campaign of 5,000 items', () => {
  it('keeps every workflow history under 10,000 events', async () => {
    const id = await harness.launch({ name: 'scale', deadline: '45s', default: 'keep' });
    const launched = await harness.waitPhase(id, 'REVIEWING', 150_000);
    expect(launched.plan).toMatchObject({ items: IDENTITIES * ROLES, reviewers: REVIEWERS });

    // Ten reviewers decide everything at once, one item at a time for two of them; the rest are left to the default.
    for (let r = 0; r < 10; r++) {
      const items = await itemsOfReviewer(harness.db, id, `m${r}`, 0, 1_000);
      const decision: 'revoke' | 'certify' = r === 0 ? 'revoke' : 'certify';
      if (r < 2) {
        for (const item of items.slice(0, 40)) {
          await harness.service.decide(
            `m${r}`,
            id,
            [{ seq: item.seq, decision, reason: 'scale test' }],
            'api',
          );
        }
      }
      const rest = items
        .slice(r < 2 ? 40 : 0)
        .map((item) => ({ seq: item.seq, decision, reason: 'scale test' }));
      await harness.service.decide(`m${r}`, id, rest, 'api');
    }

    const done = await harness.waitPhase(id, 'COMPLETED', 240_000);
    expect(done.remediation.revoked).toBe(100);
    expect(done.certified + done.revoked).toBe(IDENTITIES * ROLES);

    const lengths = await harness.historyLengths(id);
    expect(lengths.length).toBeGreaterThanOrEqual(REVIEWERS + 1);
    const largest = Math.max(...lengths.map((l) => l.events));
    expect(largest).toBeLessThan(HISTORY_LIMIT);
  }, 600_000);
});
