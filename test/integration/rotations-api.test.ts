import { randomUUID } from 'node:crypto';
import { createSecretCipher } from '../../integrations/secrets/cipher';
import { listAuditEvents } from '../../store/audit';
import { ensurePendingVersion, promoteVersion, sealContext } from '../../store/credential-versions';
import { ensureCredential } from '../../store/credentials';
import { ApiHarness } from '../support/api-harness';
import { JitHarness } from '../support/jit-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const reportsLogin = uniqueName('svc_reports');
const cronLogin = uniqueName('svc_cron');
const REPORTS = 'target/svc-reports';
const ETL = 'target/svc-etl';
const CRON = 'target/svc-cron';
const path = (id: string) => `/v1/rotations/${encodeURIComponent(id)}`;
const secretPath = (id: string) => `/v1/secrets/${encodeURIComponent(id)}`;

// A namespace of its own: a sync deletes every rotation schedule that is not in its policy.
const harness = JitHarness.fromDocument(
  {
    version: 1,
    identities: [
      { id: 'alice' },
      { id: 'bob' },
      { id: 'dana' },
      { id: 'mallory' },
      { id: 'svc-reports', kind: 'non-human', owner: 'alice', logins: { target: reportsLogin } },
      { id: 'svc-etl', kind: 'non-human', owner: 'bob' },
      { id: 'svc-cron', kind: 'non-human', owner: 'bob', logins: { target: cronLogin } },
    ],
    groups: [{ id: 'security', members: ['dana'] }],
    systems: [targetSystem],
    credentials: [
      {
        id: REPORTS,
        identity: 'svc-reports',
        system: 'target',
        strategy: 'single-login',
        every: '30d',
      },
      {
        id: ETL,
        identity: 'svc-etl',
        system: 'target',
        strategy: 'alternating-logins',
        logins: [uniqueName('etl_blue'), uniqueName('etl_green')],
        every: '7d',
        overlap: '1h',
      },
      {
        id: CRON,
        identity: 'svc-cron',
        system: 'target',
        strategy: 'single-login',
        cron: '0 3 * * 1',
      },
    ],
  },
  { encrypt: true, namespace: uniqueName('rotations-api') },
);

let api: ApiHarness;
const reportsSecret = `s3cret-${randomUUID()}`;
let reportsVersion: string;

/** A current version made through the store, as a finished rotation leaves it. */
async function rotatedVersion(
  credentialId: string,
  login: string,
  secret: string,
  at = new Date(),
) {
  const cipher = createSecretCipher(harness.encryptionKey);
  await ensureCredential(harness.db, harness.policy.credential(credentialId)!);
  const { version } = await ensurePendingVersion(
    harness.db,
    {
      credentialId,
      workflowId: `test/${randomUUID()}`,
      login,
      seal: (id) => cipher.seal(secret, sealContext(credentialId, id)),
    },
    at,
  );
  await promoteVersion(harness.db, credentialId, version.id, at);
  return version.id;
}

const scheduleOf = (id: string) => harness.client.schedule.getHandle(`rotation/${id}`);
/** A schedule starts a triggered run a moment after the trigger. */
const runningOf = (id: string) =>
  waitFor(`a running rotation of ${id}`, async () => {
    const { body } = await api.as('dana').get('/v1/rotations');
    return body.rotations.find((r: { id: string }) => r.id === id).schedule.running;
  });
const eventsAbout = (subject: string) => listAuditEvents(harness.db, { subject });

beforeAll(async () => {
  await harness.start();
  // No worker: runs the schedules start stay running, so "already running" can be seen.
  await harness.stopWorker();
  reportsVersion = await rotatedVersion(REPORTS, reportsLogin, reportsSecret);
  await rotatedVersion(CRON, cronLogin, `cron-${randomUUID()}`, new Date('2024-01-01T00:00:00Z'));
  api = await ApiHarness.start(harness);
  // What the worker does at its start; who may sync is tested below.
  const synced = await api.as('dana').post('/v1/rotations/sync');
  expect(synced.status).toBe(200);
}, 60_000);

afterAll(async () => {
  for (const id of [REPORTS, ETL, CRON]) {
    const runs = await scheduleOf(id)
      .describe()
      .then((d) => d.info.recentActions.map((a) => a.action.workflow.workflowId))
      .catch(() => []);
    for (const run of runs) {
      await harness.client.workflow
        .getHandle(run)
        .terminate('test over')
        .catch(() => undefined);
    }
    await scheduleOf(id)
      .delete()
      .catch(() => undefined);
  }
  await api?.close();
  await harness.stop();
});

describe('GET /v1/secrets/:credentialId', () => {
  test("answers the credential's own identity with its current secret, uncached, and audits the read", async () => {
    for (const url of [secretPath(REPORTS), `/v1/secrets/${REPORTS}`]) {
      const response = await api.as('svc-reports').get(url);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        credentialId: REPORTS,
        login: reportsLogin,
        secret: reportsSecret,
        version: reportsVersion,
        rotatedAt: expect.any(String),
      });
    }
    const raw = await fetch(`${api.baseUrl}${secretPath(REPORTS)}`, {
      headers: { authorization: `Bearer ${await api.tokenFor('svc-reports')}` },
    });
    expect(raw.headers.get('cache-control')).toBe('no-store');

    const reads = (await eventsAbout(REPORTS)).filter((e) => e.action === 'secret.read');
    expect(reads).toHaveLength(3);
    expect(reads[0]).toMatchObject({ actor: 'svc-reports', details: { version: reportsVersion } });
    expect(JSON.stringify(await listAuditEvents(harness.db))).not.toContain(reportsSecret);
  });

  test('refuses everyone else, the owner and admins included, and tells them whose secret it is', async () => {
    const before = (await eventsAbout(REPORTS)).length;
    for (const reader of ['alice', 'dana', 'mallory', 'svc-etl']) {
      const response = await api.as(reader).get(secretPath(REPORTS));
      expect(response.status).toBe(403);
      expect(response.body.error).toBe(
        `${reader} may not read the secret of ${REPORTS}: only svc-reports may, ` +
          'with its own token (admins and owners cannot either)',
      );
      expect(response.text).not.toContain(reportsSecret);
    }
    expect(await eventsAbout(REPORTS)).toHaveLength(before);
  });

  test('answers 404 for an unknown credential, 400 for a malformed id, 409 before the first rotation', async () => {
    const unknown = await api.as('svc-reports').get(secretPath('target/nothing'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('no credential target/nothing in the policy');

    const malformed = await api.as('svc-reports').get('/v1/secrets/..%2F..%2Fetc');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/does not name a credential/);

    const early = await api.as('svc-etl').get(secretPath(ETL));
    expect(early.status).toBe(409);
    expect(early.body.error).toBe(`${ETL} is not rotated yet: it has no secret until then`);
  });
});

describe('GET /v1/rotations', () => {
  test('shows admins every credential, and others those of identities they are or own', async () => {
    const seen = async (who: string) =>
      (await api.as(who).get('/v1/rotations')).body.rotations.map((r: { id: string }) => r.id);
    expect(await seen('dana')).toEqual([REPORTS, ETL, CRON]);
    expect(await seen('alice')).toEqual([REPORTS]);
    expect(await seen('svc-reports')).toEqual([REPORTS]);
    expect(await seen('bob')).toEqual([ETL, CRON]);
    expect(await seen('mallory')).toEqual([]);
  });

  test('tells when each credential was rotated, when it is due, and what its schedule does', async () => {
    await runningOf(ETL);
    const { body } = await api.as('dana').get('/v1/rotations');
    const [reports, etl, cron] = body.rotations;
    expect(reports).toMatchObject({
      identity: 'svc-reports',
      strategy: 'single-login',
      everyMs: 30 * 86_400_000,
      cron: null,
      overlapMs: 0,
      lastStatus: null,
      currentVersion: { id: reportsVersion, login: reportsLogin },
      schedule: { paused: false, running: false, nextDueAt: expect.any(String) },
      overdue: false,
    });
    expect(Date.parse(reports.dueAt) - Date.parse(reports.lastRotatedAt)).toBe(30 * 86_400_000);

    // Never rotated: due now, overdue, and its first run started by the sync is still going.
    expect(etl).toMatchObject({
      lastRotatedAt: null,
      currentVersion: null,
      overlapMs: 3_600_000,
      overdue: true,
    });
    expect(etl.schedule.running).toBe(true);

    // 2024-01-01 was a Monday: the next "0 3 * * 1" after midnight is three hours later.
    expect(cron).toMatchObject({
      cron: '0 3 * * 1',
      everyMs: null,
      dueAt: '2024-01-01T03:00:00.000Z',
      overdue: true,
    });
  });
});

describe('POST /v1/rotations/:credentialId/rotate', () => {
  test('lets admins and the owner rotate, refuses others, and reports a rotation already running', async () => {
    for (const who of ['mallory', 'svc-reports', 'bob']) {
      const refused = await api.as(who).post(`${path(REPORTS)}/rotate`);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe(
        `${who} may not rotate ${REPORTS}: only admins and alice, who owns svc-reports, may`,
      );
    }

    const requested = await api
      .as('alice')
      .post(`${path(REPORTS)}/rotate`, { reason: 'the old one was pasted in chat' });
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({ credentialId: REPORTS, requested: true });
    const events = await eventsAbout(REPORTS);
    expect(events.at(-1)).toMatchObject({
      actor: 'alice',
      action: 'credential.rotation_requested',
      details: { reason: 'the old one was pasted in chat' },
    });

    await runningOf(REPORTS);
    for (const [who, id] of [
      ['dana', REPORTS],
      ['bob', ETL],
    ]) {
      const again = await api.as(who).post(`${path(id)}/rotate`);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(new RegExp(`^a rotation of ${id} is already running`));
    }
    expect(await eventsAbout(REPORTS)).toHaveLength(events.length);
  });

  test('refuses bad input with a message naming it, and starts nothing', async () => {
    const unknown = await api.as('dana').post(`${path('target/nothing')}/rotate`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('no credential target/nothing in the policy');

    const badReason = await api.as('bob').post(`${path(CRON)}/rotate`, { reason: 'esc \u001b[2J' });
    expect(badReason.status).toBe(400);
    expect(badReason.body.error).toMatch(
      /^invalid request: reason: must not contain control characters/,
    );

    const text = await api.as('bob').postRaw(`${path(CRON)}/rotate`, 'now please', 'text/plain');
    expect(text.status).toBe(400);
    expect(text.body.error).toMatch(/expected object/);

    const broken = await api
      .as('bob')
      .postRaw(`${path(CRON)}/rotate`, '{"reason":', 'application/json');
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatch(/not valid JSON/);

    expect((await scheduleOf(CRON).describe()).info.runningActions).toEqual([]);
  });
});

describe('POST /v1/rotations/:credentialId/pause and /resume', () => {
  test('pause and resume with a note naming who and why, and answer a repeat without changing it', async () => {
    const paused = await api
      .as('bob')
      .post(`${path(CRON)}/pause`, { reason: 'target migration tonight' });
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({
      credentialId: CRON,
      paused: true,
      changed: true,
      note: 'paused by bob: target migration tonight',
    });
    expect((await scheduleOf(CRON).describe()).state).toMatchObject({ paused: true });

    const again = await api.as('dana').post(`${path(CRON)}/pause`);
    expect(again.body).toEqual({ ...paused.body, changed: false });

    const whilePaused = await api.as('bob').post(`${path(CRON)}/rotate`);
    expect(whilePaused.status).toBe(409);
    expect(whilePaused.body.error).toBe(
      `rotation of ${CRON} is paused (paused by bob: target migration tonight); resume it first`,
    );

    const resumed = await api.as('dana').post(`${path(CRON)}/resume`);
    expect(resumed.body).toEqual({
      credentialId: CRON,
      paused: false,
      changed: true,
      note: 'resumed by dana',
    });
    expect((await scheduleOf(CRON).describe()).state.paused).toBe(false);
    expect((await api.as('bob').post(`${path(CRON)}/resume`)).body.changed).toBe(false);

    const events = (await eventsAbout(CRON)).map((e) => [e.actor, e.action, e.details]);
    expect(events).toEqual([
      ['bob', 'credential.rotation_paused', { reason: 'target migration tonight' }],
      ['dana', 'credential.rotation_resumed', {}],
    ]);
  });

  test('refuses anyone but admins and the owner, and bad reasons, and leaves the schedule as it was', async () => {
    for (const who of ['alice', 'svc-cron']) {
      const refused = await api.as(who).post(`${path(CRON)}/pause`);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe(
        `${who} may not pause the rotation of ${CRON}: only admins and bob, who owns svc-cron, may`,
      );
    }
    const extra = await api.as('bob').post(`${path(CRON)}/pause`, { why: 'no' });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toContain('why');
    const wrongType = await api.as('bob').post(`${path(CRON)}/pause`, { reason: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/^invalid request: reason: /);
    const long = await api.as('bob').post(`${path(CRON)}/pause`, { reason: 'r'.repeat(201) });
    expect(long.status).toBe(400);
    expect(long.body.error).toBe('invalid request: reason: must be at most 200 characters');
    const malformed = await api.as('bob').post('/v1/rotations/%2Fetc/pause');
    expect(malformed.status).toBe(400);

    expect((await scheduleOf(CRON).describe()).state.paused).toBe(false);
  });
});

describe('POST /v1/rotations/sync', () => {
  test('is for admins only, and recreates a schedule that went missing', async () => {
    await scheduleOf(CRON).delete();
    const listed = await api.as('bob').get('/v1/rotations');
    expect(listed.body.rotations.find((r: { id: string }) => r.id === CRON).schedule).toBeNull();
    const noSchedule = await api.as('bob').post(`${path(CRON)}/pause`);
    expect(noSchedule.status).toBe(409);
    expect(noSchedule.body.error).toMatch(/has no rotation schedule yet/);

    const refused = await api.as('bob').post('/v1/rotations/sync');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('bob is not an admin; only admins sync the rotation schedules');

    const synced = await api.as('dana').post('/v1/rotations/sync');
    expect(synced.status).toBe(200);
    expect(synced.body).toEqual({
      created: [`rotation/${CRON}`],
      updated: [],
      deleted: [],
      unchanged: [`rotation/${REPORTS}`, `rotation/${ETL}`],
    });
    expect((await scheduleOf(CRON).describe()).state.paused).toBe(false);
  });
});
