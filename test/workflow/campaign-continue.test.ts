import type { PolicyInput } from '../../domain/policy';
import { itemsOfReviewer } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';

// One reviewer with 600 items decided one click at a time: enough updates to pass the reviewer
// workflow's history budget, so it has to continue as new while decisions keep arriving.
const run = uniqueName('can');
const IDENTITIES = 100;
const ROLES = 6;
const roleName = (i: number) => `${run}_r${i}`;
const loginOf = (i: number) => `${run}_u${i}`;

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { adminGroup: 'security' },
    identities: [
      { id: 'sam' },
      { id: 'mia', manager: 'sam' },
      ...Array.from({ length: IDENTITIES }, (_, i) => ({
        id: `u${i}`,
        manager: 'mia',
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

describe('a reviewer with many single decisions', () => {
  it('continues as new and keeps every decision', async () => {
    const id = await harness.launch({ name: 'continue', deadline: '10m' });
    await harness.waitPhase(id, 'REVIEWING', 120_000);
    const items = await itemsOfReviewer(harness.db, id, 'mia', 0, 1_000);
    expect(items).toHaveLength(IDENTITIES * ROLES);
    for (const item of items) {
      await harness.service.decide('mia', id, [{ seq: item.seq, decision: 'certify' }], 'api');
    }

    const done = await harness.waitPhase(id, 'COMPLETED', 120_000);
    expect(done.certified).toBe(IDENTITIES * ROLES);
    const lengths = await harness.historyLengths(id);
    const reviewerRuns = lengths.filter((l) => l.workflowId.endsWith('/reviewer/mia'));
    expect(reviewerRuns.length).toBeGreaterThan(1);
    expect(Math.max(...lengths.map((l) => l.events))).toBeLessThan(10_000);
  }, 600_000);
});
