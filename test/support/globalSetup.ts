import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../integrations/temporal/codec';
import { resolveTemporalExecutable } from '../../integrations/temporal/executable';
import { freePort } from '../../integrations/net/ports';
import { startEmbeddedPostgres } from '../../store/embedded';

/**
 * Starts the real servers the suite shares: one Temporal dev server and one PostgreSQL
 * cluster. Each test file makes its own databases and task queues inside them.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
  chmodSync(dir, 0o711);
  const [executable, pgPort] = await Promise.all([
    resolveTemporalExecutable((line) => process.stderr.write(`${line}\n`)),
    freePort(),
  ]);
  const [temporal, postgres, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({ server: { executable, ip: '127.0.0.1' } }),
    startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: pgPort, persistent: false }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: quietLogger,
    }),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  process.env.KEYWARD_TEST_DIR = dir;
  process.env.KEYWARD_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.KEYWARD_TEST_PG_URL = postgres.urlFor('postgres');
  process.env.KEYWARD_TEST_WORKFLOW_BUNDLE = bundlePath;
  Object.assign(globalThis, { __keywardTestServers: { temporal, postgres, dir } });
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => process.stderr.write(`bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`bundler: ${message}\n`),
};
