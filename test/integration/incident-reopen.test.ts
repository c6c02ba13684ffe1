import type { PolicyInput } from '../../domain/policy';
import { listAuditEvents } from '../../store/audit';
import { isQuarantined } from '../../store/incidents';
import { ApiHarness } from '../support/api-harness';
import { ident, JitHarness } from '../support/jit-harness';
import { targetSystem } from '../support/policies';
import { SecondCluster } from '../support/second-cluster';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// While the second system is down an incident's containment cannot finish, so one that is
// closed (or restored) meanwhile stays CLOSING (or RESTORING) for as long as the test needs.
const run = uniqueName('inc_again');
const SECOND_ENV = 'KEYWARD_TEST_SECOND_URL';
const reader = `${run}_reader`;
const loginOf = (identity: string) => `${run}_${identity.replace('-', '_')}`;
const services = ['svc-closing', 'svc-together', 'svc-restoring'];

function policy(): PolicyInput {
  return {
    version: 1,
    identities: [
      { id: 'olivia' },
      { id: 'dana' },
      { id: 'erin' },
      ...services.map((id) => ({
        id,
        kind: 'non-human' as const,
        owner: 'olivia',
        logins: { target: loginOf(id), second: loginOf(id) },
      })),
    ],
    groups: [{ id: 'security', members: ['dana', 'erin'] }],
    systems: [targetSystem, { id: 'second', type: 'postgres', connection: `env:${SECOND_ENV}` }],
    entitlements: [],
  };
}

const second = new SecondCluster();
let harness: JitHarness;
let api: ApiHarness;

beforeAll(async () => {
  await second.start();
  harness = JitHarness.fromDocument(policy(), { encrypt: true, env: { [SECOND_ENV]: second.url } });
  await harness.start();
  await harness.createRoles(
    { name: reader },
    ...services.map((id) => ({ name: loginOf(id), login: true })),
  );
  await second.query(`CREATE ROLE ${ident(reader)}`);
  for (const id of services) {
    await superuserQuery(`GRANT ${ident(reader)} TO ${ident(loginOf(id))}`);
    await second.query(`CREATE ROLE ${ident(loginOf(id))} LOGIN`);
    await second.query(`GRANT ${ident(reader)} TO ${ident(loginOf(id))}`);
  }
  api = await ApiHarness.start(harness);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await harness?.stop();
  await second.destroy();
});

/** Runs `work` with the second system down, and brings it back up whatever happens. */
async function whileSecondDown<T>(work: () => Promise<T>): Promise<T> {
  await second.stop();
  try {
    return await work();
  } finally {
    await second.start();
  }
}

type Report = {
  status: string;
  systems: { systemId: string; status: string; removed: unknown[]; lastError: string | null }[];
};
const reportOf = async (id: string): Promise<Report> =>
  (await api.as('dana').get(`/v1/incidents/${id}/report`)).body;
const systemOf = (report: Report, systemId: string) =>
  report.systems.find((s) => s.systemId === systemId)!;
const untilStatus = (id: string, status: string) =>
  waitFor(
    `incident ${status}`,
    async () => ((await reportOf(id)).status === status ? reportOf(id) : undefined),
    90_000,
  );
const untilContainedOn = (id: string, systemId: string) =>
  waitFor(`${systemId} contained`, async () => {
    const report = await reportOf(id);
    return systemOf(report, systemId).status === 'CONTAINED' && report;
  });
const report = (identity: string, reason = 'leak') =>
  api.as('dana').post('/v1/incidents', { identity, reason });
const memberOnSecond = async (login: string) =>
  (
    await second.query(
      `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1 AND u.rolname = $2`,
      [reader, login],
    )
  ).rowCount === 1;

/** An incident about `identity` that has been closed while the second system is down. */
async function closingIncident(identity: string): Promise<string> {
  const opened = await report(identity);
  expect(opened.status).toBe(201);
  await untilContainedOn(opened.body.id, 'target');
  const closing = await api
    .as('erin')
    .post(`/v1/incidents/${opened.body.id}/close`, { reason: 'handled' });
  expect(closing.body.status).toBe('CLOSING');
  return opened.body.id as string;
}

describe('a report about an identity whose incident is ending', () => {
  test('opens a new incident while the old one is closing, which contains the identity again at once', async () => {
    const login = loginOf('svc-closing');
    const { first, again } = await whileSecondDown(async () => {
      const first = await closingIncident('svc-closing');
      // The access comes back meanwhile, as a standing grant put back by hand might.
      await superuserQuery(`GRANT ${ident(reader)} TO ${ident(login)}`);

      const again = await report('svc-closing', 'seen again');
      expect(again.status).toBe(201);
      expect(again.body).toEqual({
        id: expect.any(String),
        identity: 'svc-closing',
        joined: false,
      });
      expect(again.body.id).not.toBe(first);
      const contained = await untilContainedOn(again.body.id, 'target');
      expect(systemOf(contained, 'target').removed).toEqual([
        { login, role: reader, source: 'standing' },
      ]);
      expect(await harness.isMember(reader, login)).toBe(false);
      // Contained without waiting for the first incident, which is still winding down.
      expect((await reportOf(first)).status).toBe('CLOSING');
      return { first, again };
    });

    await untilStatus(first, 'CLOSED');
    await untilStatus(again.body.id, 'CONTAINED');
    expect(await memberOnSecond(login)).toBe(false);
    expect(await isQuarantined(harness.db, 'svc-closing')).toBe(true);
    const actions = (await listAuditEvents(harness.db, { subject: 'svc-closing' })).map(
      (e) => e.action,
    );
    expect(actions.filter((a) => a === 'incident.opened')).toHaveLength(2);
    expect(actions).toContain('incident.close_requested');
    expect(actions).not.toContain('incident.joined');
  });

  test('opens one new incident for two reports that arrive together while the old one is closing', async () => {
    const opened = await whileSecondDown(async () => {
      const first = await closingIncident('svc-together');
      const [a, b] = await Promise.all([
        report('svc-together', 'one'),
        report('svc-together', 'two'),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 201]);
      expect(a.body.id).toBe(b.body.id);
      expect(a.body.id).not.toBe(first);
      return a.body.id as string;
    });
    await untilStatus(opened, 'CONTAINED');
  });

  test('opens a new incident while the old one is restoring, and that restore gives nothing back over it', async () => {
    const login = loginOf('svc-restoring');
    const opened = await report('svc-restoring');
    const first = opened.body.id as string;
    await untilStatus(first, 'CONTAINED');
    const again = await whileSecondDown(async () => {
      await api.as('dana').post(`/v1/incidents/${first}/restore`);
      expect((await api.as('erin').post(`/v1/incidents/${first}/restore`)).body.status).toBe(
        'RESTORING',
      );
      await waitFor(
        'the target restored',
        async () => systemOf(await reportOf(first), 'target').status === 'RESTORED',
      );
      expect(await harness.isMember(reader, login)).toBe(true);

      const again = await report('svc-restoring', 'seen again');
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(first);
      await untilContainedOn(again.body.id, 'target');
      expect(await harness.isMember(reader, login)).toBe(false);
      return again;
    });

    const stuck = await waitFor('the restore of second refused', async () => {
      const state = await reportOf(first);
      return systemOf(state, 'second').status === 'FAILED' && state;
    });
    expect(systemOf(stuck, 'second').lastError).toBe(
      `incident ${again.body.id} was opened about the same identity since; a restore would undo its containment`,
    );
    await untilStatus(again.body.id, 'CONTAINED');
    expect(await memberOnSecond(login)).toBe(false);
    expect(
      (await api.as('erin').post(`/v1/incidents/${first}/close`, { reason: 'reported again' }))
        .status,
    ).toBe(200);
    await harness.client.workflow.getHandle(`incident/${first}`).result();
    expect(await isQuarantined(harness.db, 'svc-restoring')).toBe(true);
    expect(await harness.isMember(reader, login)).toBe(false);
  });
});
