import { campaignWorkflowId } from '../../domain/campaign';
import type { CampaignState } from '../../domain/campaign';
import type { PolicyInput } from '../../domain/policy';
import { createCampaign } from '../../store/campaigns';
import type { campaignWorkflow } from '../../workflows/campaign/workflow';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';

// 250 reviewers with one item each, and a campaign allowed only 200 events a run: it has to hand
// over while it launches them and again while they report back, as one of 2,000 reviewers would.
const run = uniqueName('hand');
const REVIEWERS = 250;
const role = `${run}_read`;
const loginOf = (i: number) => `${run}_u${i}`;

const policy: PolicyInput = {
  version: 1,
  settings: { adminGroup: 'security' },
  identities: [
    { id: 'sam' },
    ...Array.from({ length: REVIEWERS }, (_, i) => ({ id: `m${i}` })),
    ...Array.from({ length: REVIEWERS }, (_, i) => ({
      id: `u${i}`,
      manager: `m${i}`,
      logins: { target: loginOf(i) },
    })),
  ],
  groups: [{ id: 'security', members: ['sam'] }],
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

const harness = new CampaignHarness(policy);

beforeAll(async () => {
  await harness.start();
  await harness.everyLoginInEveryRole(
    [role],
    Array.from({ length: REVIEWERS }, (_, i) => loginOf(i)),
  );
}, 180_000);

afterAll(() => harness.stop(), 120_000);

describe('a campaign whose history fills up', () => {
  it('continues as new while launching and reviewing, and starts and hears every reviewer once', async () => {
    const id = uniqueName('handover').replace(/_/g, '-');
    const spec = {
      name: 'handover',
      scope: {},
      reviewers: 'manager',
      deadlineMs: 40_000,
      remindMs: [],
      default: 'keep',
    };
    await createCampaign(harness.db, { id, name: spec.name, spec, createdBy: 'sam' });
    const handle = await harness.client.workflow.start<typeof campaignWorkflow>(
      'campaignWorkflow',
      {
        workflowId: campaignWorkflowId(id),
        taskQueue: harness.jit.taskQueue,
        args: [{ campaignId: id, historyBudget: 200 }],
      },
    );

    const done = (await handle.result()) as CampaignState;
    expect(done).toMatchObject({
      phase: 'COMPLETED',
      reviewersStarted: REVIEWERS,
      reviewersDone: REVIEWERS,
      certified: REVIEWERS,
    });
    const lengths = await harness.historyLengths(id);
    const campaignRuns = lengths.filter((l) => l.workflowId === campaignWorkflowId(id));
    expect(campaignRuns.length).toBeGreaterThan(2);
    const reviewers = lengths
      .filter((l) => l.workflowId.includes('/reviewer/'))
      .map((l) => l.workflowId);
    expect(new Set(reviewers).size).toBe(REVIEWERS);
    expect(reviewers).toHaveLength(REVIEWERS);
  }, 300_000);
});
