import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PolicyInput } from '../../domain/policy';
import { ApiHarness } from '../support/api-harness';
import { ident, JitHarness } from '../support/jit-harness';
import { targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'keyward.js');
const exec = promisify(execFile);
const run = uniqueName('inc_cli');
const login = `${run}_svc`;
const reader = `${run}_reader`;

function policy(): PolicyInput {
  return {
    version: 1,
    identities: [
      { id: 'olivia' },
      { id: 'dana' },
      { id: 'erin' },
      { id: 'svc-cli', kind: 'non-human', owner: 'olivia', logins: { target: login } },
    ],
    groups: [{ id: 'security', members: ['dana', 'erin'] }],
    systems: [targetSystem],
  };
}

let harness: JitHarness;
let api: ApiHarness;

beforeAll(async () => {
  harness = JitHarness.fromDocument(policy());
  await harness.start();
  await harness.createRoles({ name: reader }, { name: login, login: true });
  await superuserQuery(`GRANT ${ident(reader)} TO ${ident(login)}`);
  api = await ApiHarness.start(harness);
});

afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

/** Runs the real `keyward` command as `identity`, with that identity's token. */
async function keyward(identity: string, ...args: string[]) {
  const env = { ...process.env, KEYWARD_TOKEN: await api.tokenFor(identity) };
  try {
    const { stdout } = await exec(process.execPath, [bin, ...args, '--api-url', api.baseUrl], {
      cwd: root,
      env,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('keyward incident', () => {
  test('opens, reports with the time to revoke, and restores after two approvals', async () => {
    const opened = await keyward(
      'dana',
      'incident',
      'open',
      'svc-cli',
      '--reason',
      'token leaked',
      '--severity',
      'critical',
      '--json',
    );
    expect(opened.code).toBe(0);
    const { id } = JSON.parse(opened.stdout) as { id: string };

    const report = await waitFor(
      'the incident contained',
      async () => {
        const result = await keyward('dana', 'incident', 'report', id, '--json');
        const parsed = JSON.parse(result.stdout);
        return parsed.status === 'CONTAINED' && parsed;
      },
      90_000,
    );
    expect(report.timeToRevokeMs).toBeGreaterThan(0);
    expect(report.systems[0].removed).toEqual([{ login, role: reader, source: 'standing' }]);
    const text = await keyward('erin', 'incident', 'report', id);
    expect(text.stdout).toMatch(/Time to revoke: \d+\.\ds/);
    expect(text.stdout).toContain(`${reader} from ${login} (standing)`);

    const self = await keyward('olivia', 'incident', 'restore', id);
    expect(self.code).not.toBe(0);
    expect(self.stderr).toMatch(/olivia may not approve restores/);
    expect(
      (await keyward('dana', 'incident', 'restore', id, '--reason', 'rotated')).stdout,
    ).toMatch(/one more approval/);
    // The second approval answers once recorded; the restore follows and the report shows it.
    expect((await keyward('erin', 'incident', 'restore', id)).stdout).toMatch(
      /access is being given back/,
    );
    await waitFor('the restore', async () => {
      const result = await keyward('dana', 'incident', 'report', id, '--json');
      return JSON.parse(result.stdout).status === 'RESTORED';
    });
    expect(await harness.isMember(reader, login)).toBe(true);
    const retry = await keyward('dana', 'incident', 'retry', id);
    expect(retry.code).not.toBe(0);
    expect(retry.stderr).toContain(`incident ${id} has already ended`);
    const final = JSON.parse((await keyward('dana', 'incident', 'report', id, '--json')).stdout);
    expect(final.approvals.map((a: { approver: string }) => a.approver)).toEqual(['dana', 'erin']);
  });
});
