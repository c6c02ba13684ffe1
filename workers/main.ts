import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { PolicyView } from '../domain/access';
import { ConnectorRegistry } from '../integrations/connectors/registry';
import { loadPolicyFile } from '../integrations/policy/load';
import { createDb, migrate } from '../store/db';
import { notificationChannels } from './channels';
import { readRuntimeConfig } from './config';
import { createKeywardWorker } from './worker';

async function main(): Promise<void> {
  const config = readRuntimeConfig();
  const level = config.logLevel.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({
    logger: new DefaultLogger(level),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const policy = new PolicyView(loadPolicyFile(config.policyFile));
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const connectors = new ConnectorRegistry(() => policy.policy.systems);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await createKeywardWorker({
    connection,
    namespace: config.namespace,
    db,
    connectors,
    policy: () => policy,
    channels: notificationChannels(config, () => policy, (line) => process.stdout.write(`${line}\n`)),
    encryptionKey: config.encryptionKey,
  });
  // run() resolves once a SIGINT or SIGTERM has drained the worker; the SDK installs those handlers.
  await worker.run();
  await Promise.allSettled([connectors.closeAll(), db.destroy(), connection.close()]);
}

main().catch((err) => {
  process.stderr.write(`keyward worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
