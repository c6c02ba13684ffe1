import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Policy } from '../../domain/policy';
import { PROJECT_ROOT, resolveTemporalExecutable } from '../../integrations/temporal/executable';
import { isPortFree } from '../../integrations/net/ports';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import { startEmbeddedPostgres } from '../../store/embedded';
import type { RunningPostgres } from '../../store/embedded';
import { identityForToken, mintToken } from '../../store/tokens';
import { tokenPath } from '../api';
import { provisionDemoTargets, seedDemoRoles } from './demo';

export interface StackOptions {
  dataDir: string;
  policyFile: string;
  policy: Policy;
  apiPort: number;
  temporalPort: number;
  uiPort: number;
  pgPort: number;
  log: (line: string) => void;
}

export interface StackInfo {
  apiUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | null;
  databaseUrl: string;
  targets: Record<string, string>;
}

function secretFile(path: string, make: () => string): string {
  if (!existsSync(path)) writeFileSync(path, make(), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

async function ensurePortsFree(ports: Record<string, number>): Promise<void> {
  for (const [what, port] of Object.entries(ports)) {
    if (!(await isPortFree(port)))
      throw new Error(`port ${port} (${what}) is in use; pick another with --${what}-port`);
  }
}

/** Gives each identity a token file in the data directory, minting one where none is valid. */
async function ensureDevTokens(db: Db, policy: Policy, dataDir: string): Promise<void> {
  mkdirSync(join(dataDir, 'tokens'), { recursive: true, mode: 0o700 });
  for (const { id } of policy.identities) {
    const file = tokenPath(dataDir, id);
    const existing = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    if (existing && (await identityForToken(db, existing)) === id) continue;
    writeFileSync(file, await mintToken(db, id, 'dev stack'), { mode: 0o600 });
  }
}

/**
 * The whole system on embedded defaults: PostgreSQL, a Temporal dev server, the worker and
 * the HTTP server, each stopped again by the returned function.
 */
export async function startStack(
  options: StackOptions,
): Promise<{ info: StackInfo; stop: () => Promise<void> }> {
  const { dataDir, log } = options;
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  // As root, PostgreSQL runs as its own system user, which must be able to pass through here.
  if (process.getuid?.() === 0) chmodSync(dataDir, statSync(dataDir).mode | 0o011);
  const pidFile = join(dataDir, 'stack.pid');
  if (existsSync(pidFile) && isAlive(Number(readFileSync(pidFile, 'utf8')))) {
    throw new Error(
      `a keyward stack is already running on ${dataDir} (pid ${readFileSync(pidFile, 'utf8').trim()})`,
    );
  }
  const useTemporal = process.env.TEMPORAL_ADDRESS;
  await ensurePortsFree({
    api: options.apiPort,
    pg: options.pgPort,
    ...(useTemporal ? {} : { temporal: options.temporalPort, ui: options.uiPort }),
  });
  writeFileSync(pidFile, String(process.pid));
  process.once('exit', () => rmSync(pidFile, { force: true }));

  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse())
      await fn().catch((err) => log(`while stopping: ${(err as Error).message}`));
    rmSync(pidFile, { force: true });
  };
  try {
    const encryptionKey = secretFile(join(dataDir, 'encryption.key'), () =>
      randomBytes(32).toString('base64'),
    );

    log('Starting PostgreSQL (embedded)...');
    const postgres: RunningPostgres = await startEmbeddedPostgres({
      dir: join(dataDir, 'postgres'),
      port: options.pgPort,
      persistent: true,
    });
    stops.push(() => postgres.stop());
    await postgres.ensureDatabase('keyward');
    const databaseUrl = postgres.urlFor('keyward');
    const targets = await provisionDemoTargets(options.policy, postgres, process.env);
    if (targets.length)
      await seedDemoRoles(
        options.policy,
        targets[0].url,
        targets.map((t) => t.systemId),
      );
    const db = createDb(databaseUrl, 2);
    await migrate(db);
    await ensureDevTokens(db, options.policy, dataDir);
    await db.destroy();

    let temporalAddress = useTemporal ?? '';
    let temporalUiUrl: string | null = null;
    if (!useTemporal) {
      log('Starting the Temporal dev server...');
      const executable = await resolveTemporalExecutable(log);
      const temporal = await TestWorkflowEnvironment.createLocal({
        server: {
          executable,
          ip: '127.0.0.1',
          port: options.temporalPort,
          ui: true,
          uiPort: options.uiPort,
          dbFilename: join(dataDir, 'temporal.db'),
          log: { format: 'pretty', level: 'warn' },
        },
      });
      stops.push(() => temporal.teardown());
      // Histories are encrypted, but names and failure messages in them are not: owner-only.
      const temporalDb = join(dataDir, 'temporal.db');
      if (existsSync(temporalDb)) chmodSync(temporalDb, 0o600);
      temporalAddress = temporal.address;
      temporalUiUrl = `http://127.0.0.1:${options.uiPort}`;
    }

    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...devWebhookSecret(options.policy, dataDir),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      KEYWARD_ENCRYPTION_KEY: encryptionKey,
      KEYWARD_POLICY: resolve(options.policyFile),
      KEYWARD_API_HOST: '127.0.0.1',
      KEYWARD_API_PORT: String(options.apiPort),
      KEYWARD_LOG_LEVEL: process.env.KEYWARD_LOG_LEVEL ?? 'warn',
      KEYWARD_PUBLIC_URL: process.env.KEYWARD_PUBLIC_URL ?? `http://127.0.0.1:${options.apiPort}`,
      // Without an SMTP server, mail is written as .eml files here and its links printed.
      ...(process.env.SMTP_URL ? {} : { KEYWARD_MAIL_DIR: join(dataDir, 'mail') }),
      ...Object.fromEntries(targets.map((t) => [t.envVar, t.url])),
    };
    const apiUrl = `http://127.0.0.1:${options.apiPort}`;
    for (const role of ['worker', 'server'] as const) {
      const child = startChild(role, childEnv, log);
      stops.push(() => stopChild(child));
    }
    await waitForHealth(apiUrl);

    const info: StackInfo = {
      apiUrl,
      temporalAddress,
      temporalUiUrl,
      databaseUrl,
      targets: Object.fromEntries(targets.map((t) => [t.systemId, t.url])),
    };
    writeFileSync(join(dataDir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`, {
      mode: 0o600,
    });
    stops.push(async () => rmSync(join(dataDir, 'stack.json'), { force: true }));
    return { info, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The incident webhook's key, when the policy names an env: variable that is not set: made once
 * and kept in the data directory, so detection scripts in the dev stack can sign with it.
 */
function devWebhookSecret(policy: Policy, dataDir: string): NodeJS.ProcessEnv {
  const variable = /^env:(.+)$/.exec(policy.settings.incidentWebhookSecret ?? '')?.[1];
  if (!variable || process.env[variable]) return {};
  const file = join(dataDir, 'incident-webhook.secret');
  return { [variable]: secretFile(file, () => randomBytes(32).toString('base64url')) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startChild(
  role: 'worker' | 'server',
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'keyward.js'), role], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches the stack, which stops the children in order.
    detached: true,
  });
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[${role}] ${line}`);
  };
  child.stdout!.on('data', relay);
  child.stderr!.on('data', relay);
  child.once('exit', (code, signal) => {
    if (!(child as { stopping?: boolean }).stopping) {
      log(`[${role}] exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack`);
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    }
  });
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  (child as { stopping?: boolean }).stopping = true;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

async function waitForHealth(apiUrl: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const healthy = await fetch(`${apiUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the API did not become healthy at ${apiUrl} within ${timeoutMs / 1000}s`);
}
