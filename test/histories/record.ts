/**
 * Records the workflows' histories that the replay test checks every change against: JIT,
 * rotation, incident and campaign. Run it when a workflow changes on purpose, and commit the new
 * files:
 *
 *   npx tsx test/histories/record.ts            # every scenario
 *   npx tsx test/histories/record.ts incident-  # only those whose names start so
 *
 * It starts its own Temporal dev server and PostgreSQL, like the test suite does.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { findTemporalCli } from '../../integrations/temporal/executable';
import { superuserQuery, testServers } from '../support/servers';
import {
  campaignWorkflowId,
  remediationWorkflowId,
  reviewerWorkflowId,
} from '../../domain/campaign';
import { CampaignService } from '../../server/campaigns';
import { findCampaign } from '../../store/campaigns';
import type { WorkflowHandle } from '@temporalio/client';
import { decideUpdate, revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import { planIncident } from '../../domain/incident-plan';
import {
  approveRestoreUpdate,
  closeIncidentUpdate,
  incidentStatusQuery,
  incidentWorkflowId,
} from '../../workflows/incident/definitions';
import { incidentWorkflow } from '../../workflows/incident/workflow';
import { rotationWorkflow } from '../../workflows/rotation/workflow';
import { waitFor } from '../support/wait';
import globalSetup from '../support/globalSetup';
import globalTeardown from '../support/globalTeardown';
import { JitHarness, TARGET_ENV } from '../support/jit-harness';
import { RefusingLogin } from '../support/refusing-login';
import type { PolicyInput } from '../../domain/policy';

const LIMITED_ENV = 'KEYWARD_TEST_LIMITED_URL';
/** The login the `limited` system connects as; it refuses keyward while a scenario wants it to. */
const limited = new RefusingLogin();

const policy: PolicyInput = {
  version: 1,
  settings: { approvalWindow: '3s' },
  identities: [
    { id: 'alice', manager: 'bob', logins: { target: 'replay_alice', limited: 'replay_alice' } },
    { id: 'bob' },
    { id: 'carol' },
    { id: 'dana' },
    { id: 'svc-etl', kind: 'non-human' as const, owner: 'alice' },
    {
      id: 'svc-gone',
      kind: 'non-human' as const,
      owner: 'alice',
      logins: { target: 'replay_gone' },
    },
    { id: 'svc-inc', kind: 'non-human' as const, owner: 'alice', logins: { target: 'replay_inc' } },
  ],
  groups: [
    { id: 'approvers', members: ['bob', 'carol'] },
    { id: 'security', members: ['dana', 'carol'] },
  ],
  systems: [
    { id: 'target', type: 'postgres' as const, connection: `env:${TARGET_ENV}` },
    { id: 'limited', type: 'postgres' as const, connection: `env:${LIMITED_ENV}` },
  ],
  entitlements: [
    {
      id: 'limited/replay',
      system: 'limited',
      role: 'replay_limited',
      riskTier: 'low' as const,
      maxDuration: '1h',
      approval: { required: 0, from: [] },
    },
    {
      id: 'target/campaign',
      system: 'target',
      role: 'replay_campaign',
      riskTier: 'low' as const,
      maxDuration: '1h',
      approval: { required: 0, from: [] },
    },
    {
      id: 'target/analyst',
      system: 'target',
      role: 'replay_analyst',
      maxDuration: '1h',
      approval: { required: 1, from: ['approvers'] },
    },
    {
      id: 'target/admin',
      system: 'target',
      role: 'replay_admin',
      maxDuration: '1h',
      approval: { required: 2, from: ['approvers'] },
    },
  ],
  credentials: [
    {
      id: 'target/etl',
      identity: 'svc-etl',
      system: 'target',
      strategy: 'alternating-logins' as const,
      logins: ['replay_etl_a', 'replay_etl_b'],
      every: '7d',
      overlap: '2s',
    },
    // Its login does not exist on the target, so setting the secret fails and the run rolls back.
    {
      id: 'target/gone',
      identity: 'svc-gone',
      system: 'target',
      strategy: 'single-login' as const,
      every: '7d',
    },
    {
      id: 'target/inc',
      identity: 'svc-inc',
      system: 'target',
      strategy: 'single-login' as const,
      every: '7d',
    },
  ],
};

type Handle = WorkflowHandle;
const decide = (h: Handle, actor: string, decision: 'approve' | 'deny', reason?: string) =>
  h.executeUpdate(decideUpdate, { args: [{ actor, decision, reason }] });

/** alice asks for `entitlementId`; every scenario starts the same way. */
const start = (harness: JitHarness, entitlementId: string, durationMs: number) =>
  harness.request({ requester: 'alice', entitlementId, durationMs, reason: 'replay' });

const rotate = async (harness: JitHarness, credentialId: string, run: string) =>
  harness.client.workflow.start(rotationWorkflow, {
    workflowId: `rotation/${credentialId}-${run}`,
    taskQueue: harness.taskQueue,
    args: [{ credentialId }],
  });

/** An incident about svc-inc, reported now. */
const openIncident = (harness: JitHarness, run: string) => {
  const incidentId = `00000000-0000-4000-8000-${run.padStart(12, '0')}`;
  return harness.client.workflow.start(incidentWorkflow, {
    workflowId: incidentWorkflowId(incidentId),
    taskQueue: harness.taskQueue,
    args: [
      {
        incidentId,
        identity: 'svc-inc',
        severity: 'critical' as const,
        reason: 'replay',
        reportedBy: 'dana',
        reportedAt: new Date().toISOString(),
        plan: planIncident(harness.policy, 'svc-inc')!,
      },
    ],
  });
};

/**
 * alice's grant on `limited`, whose revocation the target refuses until the workflow has
 * continued as new at least once; returns once the grant is revoked.
 */
async function refusedRevocation(harness: JitHarness) {
  const handle = await harness.request({
    requester: 'alice',
    entitlementId: 'limited/replay',
    durationMs: 1_000,
    reason: 'replay',
    revokeRetry: { firstMs: 100, longestMs: 200, historyBudget: 60 },
  });
  await waitFor('the grant', async () => (await handle.query(statusQuery)).status === 'GRANTED');
  await limited.refuse();
  try {
    await waitFor(
      'a second run',
      async () => (await handle.describe()).runId !== handle.firstExecutionRunId,
    );
  } finally {
    await limited.recover();
  }
  await handle.result();
  return handle;
}

const untilContained = (handle: Handle) =>
  waitFor(
    'the incident contained',
    async () => (await handle.query(incidentStatusQuery)).status === 'CONTAINED',
  );

/** A campaign over alice's standing membership of replay_campaign, reviewed by her manager bob. */
async function campaign(harness: JitHarness, id: string, changes: Record<string, unknown> = {}) {
  const service = new CampaignService({
    db: harness.db,
    temporal: harness.client,
    policy: () => harness.policy,
    taskQueue: harness.taskQueue,
  });
  // Each scenario starts from the membership in place, whatever the one before revoked.
  await superuserQuery('GRANT replay_campaign TO replay_alice');
  await service.start('dana', {
    id,
    name: id,
    deadline: '20s',
    scope: { entitlements: ['target/campaign'] },
    ...changes,
  });
  await waitFor(
    'reviewing',
    async () => (await findCampaign(harness.db, id))?.status !== 'LAUNCHING',
  );
  return { service, handle: harness.client.workflow.getHandle(campaignWorkflowId(id)) };
}

/** What a scenario recorded: a workflow, or for a chain of runs the one run to keep. */
type Recorded = Handle | { handle: Handle; runId: string };

const scenarios: Record<string, (harness: JitHarness) => Promise<Recorded>> = {
  'incident-contained-then-restored': async (harness) => {
    const handle = await openIncident(harness, '1');
    await untilContained(handle);
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ actor: 'dana' }] });
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ actor: 'carol' }] });
    return handle;
  },
  'incident-closed-without-restore': async (harness) => {
    const handle = await openIncident(harness, '2');
    await untilContained(handle);
    await handle.executeUpdate(closeIncidentUpdate, {
      args: [{ actor: 'dana', reason: 'decommissioned' }],
    });
    return handle;
  },
  // The same two endings, now that the close or the completing approval is on record first.
  'incident-restore-recorded-then-restored': async (harness) => {
    const handle = await openIncident(harness, '3');
    await untilContained(handle);
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ actor: 'dana' }] });
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ actor: 'carol' }] });
    return handle;
  },
  'incident-close-recorded-then-closed': async (harness) => {
    const handle = await openIncident(harness, '4');
    await untilContained(handle);
    await handle.executeUpdate(closeIncidentUpdate, {
      args: [{ actor: 'dana', reason: 'decommissioned' }],
    });
    return handle;
  },
  'campaign-revoked-and-remediated': async (harness) => {
    const { service, handle } = await campaign(harness, `replay-revoked-${Date.now()}`);
    const id = handle.workflowId.slice('campaign/'.length);
    await service.decide('bob', id, [{ seq: 1, decision: 'revoke', reason: 'replay' }], 'api');
    return handle;
  },
  'campaign-remediation-revoked': async (harness) => {
    const { service, handle } = await campaign(harness, `replay-remediation-${Date.now()}`);
    const id = handle.workflowId.slice('campaign/'.length);
    await service.decide('bob', id, [{ seq: 1, decision: 'revoke', reason: 'replay' }], 'api');
    await handle.result();
    return harness.client.workflow.getHandle(remediationWorkflowId(id));
  },
  'campaign-reviewer-decided': async (harness) => {
    const { service, handle } = await campaign(harness, `replay-decided-${Date.now()}`);
    const id = handle.workflowId.slice('campaign/'.length);
    await service.decide('bob', id, [{ seq: 1, decision: 'certify' }], 'api');
    await handle.result();
    return harness.client.workflow.getHandle(reviewerWorkflowId(id, 'bob'));
  },
  'campaign-reviewer-reminded-then-defaulted': async (harness) => {
    const { handle } = await campaign(harness, `replay-default-${Date.now()}`, {
      deadline: '6s',
      remind: ['3s'],
    });
    const id = handle.workflowId.slice('campaign/'.length);
    await handle.result();
    return harness.client.workflow.getHandle(reviewerWorkflowId(id, 'bob'));
  },
  'rotation-alternating-overlap': async (harness) => {
    // The first rotation has nothing to retire; the second waits out the overlap and retires.
    await (await rotate(harness, 'target/etl', 'first')).result();
    return rotate(harness, 'target/etl', 'second');
  },
  'rotation-rolled-back': (harness) => rotate(harness, 'target/gone', 'first'),
  'jit-approved-then-expired': async (harness) => {
    const handle = await start(harness, 'target/analyst', 2_000);
    await decide(handle, 'bob', 'approve');
    return handle;
  },
  'jit-denied': async (harness) => {
    const handle = await start(harness, 'target/analyst', 2_000);
    await decide(handle, 'carol', 'deny', 'not now');
    return handle;
  },
  'jit-approval-window-expired': (harness) => start(harness, 'target/analyst', 2_000),
  'jit-quorum-then-revoked-early': async (harness) => {
    const handle = await start(harness, 'target/admin', 60_000);
    await decide(handle, 'bob', 'approve');
    await decide(handle, 'carol', 'approve');
    await handle.executeUpdate(revokeUpdate, {
      args: [{ actor: 'dana', reason: 'incident closed' }],
    });
    return handle;
  },
  'jit-revoke-refused-then-continued-as-new': async (harness) => {
    const handle = await refusedRevocation(harness);
    return { handle, runId: handle.firstExecutionRunId };
  },
  'jit-revoke-refused-resumed-then-revoked': async (harness) => {
    const handle = await refusedRevocation(harness);
    return { handle, runId: (await handle.describe()).runId };
  },
  'jit-cancelled-after-grant': async (harness) => {
    const handle = await start(harness, 'target/analyst', 60_000);
    await decide(handle, 'bob', 'approve');
    await handle.cancel();
    return handle;
  },
};

async function main(): Promise<void> {
  await globalSetup();
  const harness = JitHarness.fromDocument(policy, {
    encrypt: false,
    env: { [LIMITED_ENV]: limited.url },
  });
  try {
    await harness.start();
    await harness.createRoles(
      { name: 'replay_analyst' },
      { name: 'replay_admin' },
      { name: 'replay_alice', login: true },
      { name: 'replay_etl_a' },
      { name: 'replay_etl_b' },
      { name: 'replay_inc', login: true },
      { name: 'replay_campaign' },
      { name: 'replay_limited' },
    );
    await limited.create(['replay_limited']);
    await superuserQuery('GRANT replay_analyst TO replay_inc');
    const only = process.argv.slice(2);
    for (const [name, run] of Object.entries(scenarios)) {
      if (only.length > 0 && !only.some((prefix) => name.startsWith(prefix))) continue;
      const recorded = await run(harness);
      const { handle, runId } =
        'handle' in recorded ? recorded : { handle: recorded, runId: undefined };
      await handle.result().catch(() => undefined);
      const file = join(__dirname, `${name}.json`);
      // The CLI writes the same JSON that the Temporal UI exports and historyFromJSON reads.
      const json = execFileSync(findTemporalCli()!, [
        'workflow',
        'show',
        '--output',
        'json',
        '--address',
        testServers().address,
        '--workflow-id',
        handle.workflowId,
        // A chain of runs is recorded one run at a time: the one the scenario named.
        ...(runId ? ['--run-id', runId] : []),
      ]);
      writeFileSync(file, json);
      process.stdout.write(`recorded ${file}\n`);
    }
  } finally {
    await harness.stop();
    await limited.drop();
    await globalTeardown();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
