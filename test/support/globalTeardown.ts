import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningPostgres } from '../../store/embedded';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __keywardTestServers?: Servers }).__keywardTestServers;
  if (!servers) return;
  await Promise.allSettled([servers.temporal.teardown(), servers.postgres.stop()]);
  rmSync(servers.dir, { recursive: true, force: true });
}

interface Servers {
  temporal: TestWorkflowEnvironment;
  postgres: RunningPostgres;
  dir: string;
}
