import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../integrations/net/ports';
import { StopWaiting, waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'keyward.js');
const run = promisify(execFile);

let dataDir: string;
let stack: ChildProcess;
let output = '';
let exited: Promise<number | null>;

/** Runs the real `keyward` command against the started stack; resolves even when it exits non-zero. */
async function keyward(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--data-dir', dataDir], {
      cwd: root,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await keyward(...args, '--json');
  if (result.code !== 0) throw new Error(`keyward ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const demoUrl = (): string =>
  JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')).targets['pg-demo'];

/** The demo target's URL with another user and password, as a consumer of a rotated secret uses it. */
function demoUrlAs(user: string, password: string): string {
  const url = new URL(demoUrl());
  url.username = user;
  url.password = password;
  return url.toString();
}

/** Who the demo target says we are, logged in with exactly these credentials. */
async function loginAs(user: string, password: string): Promise<string> {
  const client = new Client({ connectionString: demoUrlAs(user, password) });
  await client.connect();
  try {
    return (await client.query('SELECT current_user AS me')).rows[0].me;
  } finally {
    await client.end();
  }
}

async function demoMembers(): Promise<string[]> {
  const client = new Client({ connectionString: demoUrl() });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT r.rolname || ':' || u.rolname AS m FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname IN ('analyst', 'admin') ORDER BY 1`,
    );
    return rows.map((r) => r.m);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  stack = spawn(
    process.execPath,
    [
      bin,
      'dev',
      '--data-dir',
      dataDir,
      '--api-port',
      `${ports[0]}`,
      '--temporal-port',
      `${ports[1]}`,
      '--ui-port',
      `${ports[2]}`,
      '--pg-port',
      `${ports[3]}`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEMPORAL_ADDRESS: '' } },
  );
  stack.stdout!.on('data', (chunk) => (output += chunk));
  stack.stderr!.on('data', (chunk) => (output += chunk));
  exited = new Promise((resolve) => stack.once('exit', resolve));
  const started = () => {
    if (stack.exitCode !== null)
      throw new StopWaiting(`the stack exited with code ${stack.exitCode}`);
    return output.includes('keyward is running');
  };
  await waitFor('the dev stack to start', started, 180_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${output}`);
  });
}, 200_000);

afterAll(async () => {
  if (stack.exitCode === null) {
    stack.kill('SIGINT');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the keyward command against a started dev stack', () => {
  test('writes the endpoints of every part to stack.json', () => {
    const info = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8'));
    expect(Object.keys(info).sort()).toEqual([
      'apiUrl',
      'databaseUrl',
      'targets',
      'temporalAddress',
      'temporalUiUrl',
    ]);
    expect(Object.keys(info.targets)).toEqual(['pg-demo']);
  });

  test('rotates both example credentials at start, and hands the secret to its own identity only', async () => {
    type Listed = {
      id: string;
      lastStatus: string | null;
      currentVersion: { login: string } | null;
    };
    const rotations = await waitFor(
      'both example credentials to be rotated',
      async () => {
        const listed = await json<Listed[]>('rotation', 'list', '--as', 'dana');
        return listed.length === 2 && listed.every((r) => r.lastStatus === 'rotated') && listed;
      },
      90_000,
    );
    expect(rotations.map((r) => [r.id, r.currentVersion?.login])).toEqual([
      ['pg-demo/svc-reports', 'svc_reports'],
      ['pg-demo/svc-etl', 'svc_etl_blue'],
    ]);
    const table = await keyward('rotation', 'list', '--as', 'alice');
    expect(table.stdout).toMatch(
      /^CREDENTIAL\s+STRATEGY\s+LAST ROTATION\s+NEXT DUE\s+STATUS\s+OVERDUE\s+PAUSED$/m,
    );
    expect(table.stdout).toMatch(/^pg-demo\/svc-reports\s+single-login\s.*\srotated\s+no\s+no$/m);
    expect(table.stdout).not.toContain('svc-etl');

    const read = await keyward('secret', 'get', 'pg-demo/svc-reports', '--as', 'svc-reports');
    expect(read.code).toBe(0);
    const secret = read.stdout.replace(/\n$/, '');
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await loginAs('svc_reports', secret)).toBe('svc_reports');
    await expect(loginAs('svc_reports', `${secret}x`)).rejects.toThrow(
      /password authentication failed/,
    );

    const etl = await json<{ login: string; secret: string }>(
      'secret',
      'get',
      'pg-demo/svc-etl',
      '--as',
      'svc-etl',
    );
    expect(await loginAs(etl.login, etl.secret)).toBe('svc_etl_blue');
    const client = new Client({ connectionString: demoUrl() });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT u.rolname AS login, u.rolcanlogin AS "canLogin" FROM pg_auth_members m
           JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
          WHERE r.rolname = 'svc_etl_writer' ORDER BY 1`,
      );
      // Both logins hold the same roles; the one not in use stays shut until a rotation needs it.
      expect(rows).toEqual([
        { login: 'svc_etl_blue', canLogin: true },
        { login: 'svc_etl_green', canLogin: false },
      ]);
    } finally {
      await client.end();
    }

    const refused = await keyward('secret', 'get', 'pg-demo/svc-reports', '--as', 'dana');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('dana may not read the secret of pg-demo/svc-reports');
    expect(refused.stdout).toBe('');
  });

  test('requests, approves, grants on the target, and revokes at expiry', async () => {
    const created = await keyward(
      'request',
      'pg-demo/analyst',
      '--for',
      '6s',
      '--reason',
      'investigate ticket 4411',
      '--as',
      'alice',
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/Needs 1 approval\(s\) from: bob, carol/);
    const id = /Request (\S+) created/.exec(created.stdout)![1];

    const self = await keyward('approve', id, '--as', 'alice');
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('alice cannot decide their own request');

    const approved = await keyward('approve', id, '--as', 'bob');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/status:\s+GRANTED/);
    expect(await demoMembers()).toContain('analyst:alice');
    expect((await keyward('status', id, '--as', 'alice')).stdout).toMatch(/granted until:/);

    await waitFor(
      'the expiry',
      async () => !(await demoMembers()).includes('analyst:alice'),
      30_000,
    );
    const final = await json<{ status: string; revokeCause: string }>(
      'status',
      id,
      '--as',
      'alice',
    );
    expect(final).toMatchObject({ status: 'REVOKED', revokeCause: 'expired' });
  });

  test('ends a grant early on revoke and shows who did what in grants and the audit log', async () => {
    const { id } = await json<{ id: string }>(
      'request',
      'pg-demo/admin',
      '--for',
      '30m',
      '--reason',
      'migration',
      '--as',
      'alice',
    );
    await json('approve', id, '--as', 'bob');
    await json('approve', id, '--as', 'dana');
    expect(await demoMembers()).toContain('admin:alice');

    const revoked = await json<{ status: string; revokedBy: string }>(
      'revoke',
      id,
      '--as',
      'alice',
    );
    expect(revoked).toMatchObject({ status: 'REVOKED', revokedBy: 'alice' });
    expect(await demoMembers()).not.toContain('admin:alice');

    const grants = await json<
      { requestId: string; approvals: { approver: string }[]; revokedBy: string }[]
    >('grants', '--as', 'dana');
    const grant = grants.find((g) => g.requestId === id)!;
    expect(grant.approvals.map((a) => a.approver)).toEqual(['bob', 'dana']);
    expect(grant.revokedBy).toBe('alice');

    const events = await json<{ action: string; actor: string }[]>(
      'audit',
      '--subject',
      id,
      '--as',
      'erin',
    );
    expect(events.map((e) => `${e.actor} ${e.action}`)).toEqual([
      'alice request.created',
      'bob request.approved',
      'dana request.approved',
      'keyward grant.granted',
      'alice grant.revoked',
    ]);
    expect((await keyward('audit', '--as', 'alice')).stderr).toContain(
      'alice is not in the admin group',
    );

    const verified = await keyward('audit', 'verify', '--as', 'dana');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/Audit log intact: \d+ events/);
  });

  test('refuses bad input with a clear message and no request', async () => {
    const tooLong = await keyward(
      'request',
      'pg-demo/analyst',
      '--for',
      '9h',
      '--reason',
      'x',
      '--as',
      'alice',
    );
    expect(tooLong.stderr).toContain('9h is longer than the 8h that pg-demo/analyst allows');
    const unknown = await keyward(
      'request',
      'pg-demo/root',
      '--for',
      '1h',
      '--reason',
      'x',
      '--as',
      'alice',
    );
    expect(unknown.stderr).toContain('unknown entitlement "pg-demo/root"');
    const nobody = await keyward('requests', '--as', 'nobody');
    expect(nobody.stderr).toContain('no dev token for "nobody"');
  });

  test('stops every part on Ctrl-C', async () => {
    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'stack.pid'))).toBe(false);
  });
});
