import { ScheduleNotFoundError } from '@temporalio/client';
import type { PolicyInput } from '../../domain/policy';
import {
  campaignScheduleId,
  syncCampaignSchedules,
} from '../../integrations/temporal/campaign-schedules';
import { listCampaigns } from '../../store/campaigns';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// Schedule ids are namespace-wide, so each run of this file names its definition afresh.
const definitionId = uniqueName('quarterly').replace(/_/g, '-');
const role = `${definitionId.replace(/-/g, '_')}_read`;

function policy(every: string): PolicyInput {
  return {
    version: 1,
    settings: { adminGroup: 'security' },
    identities: [
      { id: 'sam' },
      { id: 'alice', manager: 'sam', logins: { target: `${role}_alice` } },
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
    campaigns: [{ id: definitionId, name: 'Quarterly target review', deadline: '5s', every }],
  };
}

// The schedule sync owns every campaign schedule of its namespace, so this file has its own.
const harness = new CampaignHarness(policy('90d'), undefined, {
  namespace: uniqueName('keyward-schedules'),
});

beforeAll(async () => {
  await harness.start();
  await harness.memberships([role], { [`${role}_alice`]: [role] });
}, 120_000);

// What an earlier version named the schedule of this definition.
const retiredId = `campaigns/${definitionId}`;

afterAll(async () => {
  for (const id of [campaignScheduleId(definitionId), retiredId]) {
    await harness.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
  await harness.stop();
}, 60_000);

describe('recurring campaigns', () => {
  it('runs a campaign from its Temporal Schedule and keeps the schedule in line with the policy', async () => {
    const definitions = harness.jit.policy.policy.campaigns;
    const first = await syncCampaignSchedules(harness.client, definitions, {
      taskQueue: harness.jit.taskQueue,
    });
    expect(first.created).toEqual([campaignScheduleId(definitionId)]);
    const again = await syncCampaignSchedules(harness.client, definitions, {
      taskQueue: harness.jit.taskQueue,
    });
    expect(again.unchanged).toContain(campaignScheduleId(definitionId));

    await harness.client.schedule.getHandle(campaignScheduleId(definitionId)).trigger();
    const campaign = await waitFor('the scheduled campaign', async () =>
      (await listCampaigns(harness.db)).find((c) => c.definitionId === definitionId),
    );
    expect(campaign.id.startsWith(`${definitionId}-`)).toBe(true);
    const done = await harness.waitPhase(campaign.id, 'COMPLETED');
    expect(done.certified).toBe(1);

    const removed = await syncCampaignSchedules(harness.client, [], {
      taskQueue: harness.jit.taskQueue,
    });
    expect(removed.deleted).toContain(campaignScheduleId(definitionId));
  });

  it('names its schedules apart from campaign workflows and removes those left under the old name', async () => {
    expect(campaignScheduleId(definitionId)).toBe(`campaign-schedule/${definitionId}`);
    // An installation upgraded from the old name still has its schedule, which would run every
    // occurrence a second time beside the new one.
    await harness.client.schedule.create({
      scheduleId: retiredId,
      spec: { intervals: [{ every: '90d' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledCampaignWorkflow',
        taskQueue: harness.jit.taskQueue,
        workflowId: retiredId,
        args: [{ definitionId }],
      },
      state: { paused: true },
    });
    await waitFor('the old schedule to be listed', async () => {
      for await (const schedule of harness.client.schedule.list())
        if (schedule.scheduleId === retiredId) return true;
      return undefined;
    });

    const definitions = harness.jit.policy.policy.campaigns;
    const synced = await syncCampaignSchedules(harness.client, definitions, {
      taskQueue: harness.jit.taskQueue,
    });
    expect(synced.deleted).toContain(retiredId);
    await expect(harness.client.schedule.getHandle(retiredId).describe()).rejects.toThrow(
      ScheduleNotFoundError,
    );
    await harness.client.schedule.getHandle(campaignScheduleId(definitionId)).describe();
  });
});
