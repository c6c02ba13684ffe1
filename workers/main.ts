import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import { PolicyView } from '../domain/access';
import { ConnectorRegistry } from '../integrations/connectors/registry';
import { loadPolicyFile } from '../integrations/policy/load';
import { connectTemporalClient } from '../integrations/temporal/client';
import { JIT_TASK_QUEUE } from '../workflows/jit/definitions';
import { createDb, migrate } from '../store/db';
import { SWEEP_SCHEDULE_ID } from '../workflows/sweep/definitions';
import { notificationChannels } from './channels';
import { readRuntimeConfig } from './config';
import { syncRotations } from './rotation-sync';
import { syncCampaignSchedules } from '../integrations/temporal/campaign-schedules';
import { createKeywardWorker } from './worker';

/** The sweep for grants whose workflow is gone runs every five minutes; created once, kept after. */
async function ensureSweepSchedule(client: Client): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every: '5 minutes' }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: {
        type: 'startWorkflow',
        workflowType: 'sweepWorkflow',
        taskQueue: JIT_TASK_QUEUE,
        workflowId: SWEEP_SCHEDULE_ID,
      },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

async function main(): Promise<void> {
  const config = readRuntimeConfig();
  const level = config.logLevel.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({
    logger: new DefaultLogger(level),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const policy = new PolicyView(loadPolicyFile(config.policyFile));
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const connectors = new ConnectorRegistry(() => policy.policy.systems);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const client = await connectTemporalClient({
    address: config.temporalAddress,
    namespace: config.namespace,
    encryptionKey: config.encryptionKey,
  });
  await ensureSweepSchedule(client);
  const schedules = await syncRotations(db, client, policy.policy.credentials);
  if (schedules.created.length + schedules.updated.length + schedules.deleted.length > 0) {
    const parts = Object.entries(schedules).map(([what, ids]) => `${ids.length} ${what}`);
    process.stdout.write(`Rotation schedules: ${parts.join(', ')}\n`);
  }
  // Recurring campaigns get their schedules on every start, as rotations do.
  const campaigns = await syncCampaignSchedules(client, policy.policy.campaigns, {
    taskQueue: JIT_TASK_QUEUE,
  });
  if (campaigns.created.length + campaigns.updated.length + campaigns.deleted.length > 0) {
    const parts = Object.entries(campaigns).map(([what, ids]) => `${ids.length} ${what}`);
    process.stdout.write(`Campaign schedules: ${parts.join(', ')}\n`);
  }
  const worker = await createKeywardWorker({
    connection,
    namespace: config.namespace,
    db,
    connectors,
    policy: () => policy,
    workflows: client.workflow,
    channels: notificationChannels(
      config,
      () => policy,
      (line) => process.stdout.write(`${line}\n`),
    ),
    encryptionKey: config.encryptionKey,
    secretKey: config.encryptionKey,
    publicUrl: config.publicUrl,
  });
  // run() resolves once a SIGINT or SIGTERM has drained the worker; the SDK installs those handlers.
  await worker.run();
  await Promise.allSettled([
    connectors.closeAll(),
    db.destroy(),
    connection.close(),
    client.connection.close(),
  ]);
}

main().catch((err) => {
  process.stderr.write(`keyward worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
