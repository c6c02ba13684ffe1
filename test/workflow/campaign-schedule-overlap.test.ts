import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { PolicyInput } from '../../domain/policy';
import {
  campaignScheduleId,
  syncCampaignSchedules,
} from '../../integrations/temporal/campaign-schedules';
import { findCampaign, listCampaigns } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const definitionId = uniqueName('overlap').replace(/_/g, '-');
const role = `${definitionId.replace(/-/g, '_')}_read`;

const policy: PolicyInput = {
  version: 1,
  settings: { adminGroup: 'security' },
  identities: [{ id: 'sam' }, { id: 'alice', manager: 'sam', logins: { target: `${role}_alice` } }],
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
  campaigns: [{ id: definitionId, name: 'Long review', deadline: '10m', every: '90d' }],
};

// The schedule sync owns every campaign schedule of its namespace, so this file has its own.
const harness = new CampaignHarness(policy, undefined, {
  namespace: uniqueName('keyward-overlap'),
});
const schedule = () => harness.client.schedule.getHandle(campaignScheduleId(definitionId));

beforeAll(async () => {
  await harness.start();
  await harness.memberships([role], { [`${role}_alice`]: [role] });
  await syncCampaignSchedules(harness.client, harness.jit.policy.policy.campaigns, {
    taskQueue: harness.jit.taskQueue,
  });
}, 120_000);

afterAll(async () => {
  await schedule()
    .delete()
    .catch(() => undefined);
  await harness.stop();
}, 60_000);

describe('a recurring campaign still under way when the next is due', () => {
  it('is not doubled: the schedule starts no next occurrence until the campaign ends', async () => {
    // A manual trigger overlaps by default; these follow the schedule's own policy, as its runs do.
    expect((await schedule().describe()).policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    await schedule().trigger(ScheduleOverlapPolicy.SKIP);
    const campaign = await waitFor('the scheduled campaign', async () =>
      (await listCampaigns(harness.db)).find((c) => c.definitionId === definitionId),
    );
    await harness.waitPhase(campaign.id, 'REVIEWING');

    await schedule().trigger(ScheduleOverlapPolicy.SKIP);
    // A skipped trigger leaves no trace of its own; what shows is that no second run starts while
    // the campaign is under way (a run that ended at once would let the next start within a second).
    for (const until = Date.now() + 5_000; Date.now() < until;) {
      const { info } = await schedule().describe();
      expect(info.numActionsTaken).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    await harness.service.cancel('sam', campaign.id);
    await waitFor(
      'the campaign to end',
      async () => (await findCampaign(harness.db, campaign.id))?.status === 'CANCELLED',
    );
    const occurrence = (await schedule().describe()).info.recentActions[0].action.workflow
      .workflowId;
    await waitFor(
      'the occurrence to end',
      async () =>
        (await harness.client.workflow.getHandle(occurrence).describe()).status.name ===
        'COMPLETED',
    );
    expect(
      (await listCampaigns(harness.db)).filter((c) => c.definitionId === definitionId),
    ).toHaveLength(1);
  });
});
