import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';

/** The newest CLI release whose go.mod has no replace directive, so `go install pkg@v` accepts it. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export const PROJECT_ROOT = resolve(__dirname, '../..');
export const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');

const run = promisify(execFile);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Where a usable `temporal` binary is, without building or downloading anything. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(
        `TEMPORAL_CLI_PATH is set to ${env.TEMPORAL_CLI_PATH}, which is not an executable file`,
      );
    }
    return env.TEMPORAL_CLI_PATH;
  }
  const local = join(TOOLS_BIN, 'temporal');
  return onPath('temporal', env) ?? (isExecutable(local) ? local : undefined);
}

/** Builds the Temporal CLI from source into .tools/bin with Go; minutes the first time, seconds after. */
export async function buildTemporalCli(log: (line: string) => void = () => {}): Promise<string> {
  mkdirSync(TOOLS_BIN, { recursive: true });
  log(
    `Building the Temporal CLI with Go into ${TOOLS_BIN} (the first build takes a few minutes)...`,
  );
  try {
    await run('go', ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: TOOLS_BIN, GOFLAGS: '-mod=mod' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed: ${detail}`);
  }
  return join(TOOLS_BIN, 'temporal');
}

async function hasGo(): Promise<boolean> {
  try {
    await run('go', ['version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the dev server executable: TEMPORAL_CLI_PATH, then PATH, then .tools/bin; failing
 * those, a Go build when Go is present, and otherwise the SDK's own download.
 */
export async function resolveTemporalExecutable(
  log: (line: string) => void = () => {},
): Promise<EphemeralServerExecutable> {
  const found = findTemporalCli();
  if (found) return { type: 'existing-path', path: found };
  if (await hasGo()) return { type: 'existing-path', path: await buildTemporalCli(log) };
  log('No temporal binary and no Go toolchain: letting the Temporal SDK download the dev server.');
  return { type: 'cached-download' };
}
