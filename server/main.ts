import { Client, Connection } from '@temporalio/client';
import { PolicyView } from '../domain/access';
import { loadPolicyFile } from '../integrations/policy/load';
import { encryptedDataConverter } from '../integrations/temporal/codec';
import { createDb, migrate } from '../store/db';
import { readRuntimeConfig } from '../workers/config';
import { JIT_TASK_QUEUE } from '../workflows/jit/definitions';
import { buildApp } from './app';

async function main(): Promise<void> {
  const config = readRuntimeConfig();
  const policy = new PolicyView(loadPolicyFile(config.policyFile));
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({
    connection,
    namespace: config.namespace,
    dataConverter: encryptedDataConverter(config.encryptionKey),
  });
  const app = buildApp({ db, temporal, policy: () => policy, taskQueue: JIT_TASK_QUEUE, logLevel: config.logLevel });
  await app.listen({ host: config.apiHost, port: config.apiPort });

  const stop = async () => {
    await app.close();
    await Promise.allSettled([db.destroy(), connection.close()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`keyward server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
