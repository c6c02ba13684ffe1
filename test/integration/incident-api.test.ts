import type { PolicyInput } from '../../domain/policy';
import { webhookSignature } from '../../integrations/webhooks/signature';
import { listAuditEvents } from '../../store/audit';
import { findIncident, isQuarantined } from '../../store/incidents';
import { mintToken } from '../../store/tokens';
import { ApiHarness } from '../support/api-harness';
import { ident, JitHarness } from '../support/jit-harness';
import { targetEntitlement, targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const run = uniqueName('inc_api');
const login = `${run}_svc`;
const reader = `${run}_reader`;
const SECRET_ENV = 'KEYWARD_TEST_INCIDENT_WEBHOOK_SECRET';
const SECRET = 'incident-webhook-key-for-tests';

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { incidentWebhookSecret: `env:${SECRET_ENV}` },
    identities: [
      { id: 'olivia' },
      { id: 'bob' },
      { id: 'dana' },
      { id: 'erin' },
      { id: 'svc-api', kind: 'non-human', owner: 'olivia', logins: { target: login } },
      { id: 'svc-hook', kind: 'non-human', owner: 'olivia' },
    ],
    groups: [
      { id: 'approvers', members: ['bob'] },
      { id: 'security', members: ['dana', 'erin'] },
    ],
    systems: [targetSystem],
    entitlements: [targetEntitlement('analyst', `${run}_analyst`)],
  };
}

let harness: JitHarness;
let api: ApiHarness;

beforeAll(async () => {
  process.env[SECRET_ENV] = SECRET;
  harness = JitHarness.fromDocument(policy());
  await harness.start();
  await harness.createRoles(
    { name: reader },
    { name: `${run}_analyst` },
    { name: login, login: true },
  );
  await superuserQuery(`GRANT ${ident(reader)} TO ${ident(login)}`);
  api = await ApiHarness.start(harness);
});

afterAll(async () => {
  await api?.close();
  await harness?.stop();
  delete process.env[SECRET_ENV];
});

const reportOf = async (id: string) =>
  (await api.as('dana').get(`/v1/incidents/${id}/report`)).body;
const contained = (id: string) =>
  waitFor(
    'the incident contained',
    async () => ((await reportOf(id)).status === 'CONTAINED' ? reportOf(id) : undefined),
    90_000,
  );

describe('POST /v1/incidents', () => {
  let id: string;

  test('is refused to someone outside the admins and the incident group', async () => {
    const response = await api
      .as('bob')
      .post('/v1/incidents', { identity: 'svc-api', reason: 'leak' });
    expect(response.status).toBe(403);
  });

  test('opens one incident, and a second report about the same identity joins it', async () => {
    const serviceToken = await api.tokenFor('svc-api');
    const opened = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'svc-api', reason: 'leak', severity: 'critical' });
    expect(opened.status).toBe(201);
    id = opened.body.id;
    const again = await api
      .as('erin')
      .post('/v1/incidents', { identity: 'svc-api', reason: 'seen again' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id, identity: 'svc-api', joined: true });

    const report = await contained(id);
    expect(report.timeToRevokeMs).toBeGreaterThan(0);
    expect(report.systems[0]).toMatchObject({
      systemId: 'target',
      status: 'CONTAINED',
      timeToRevokeMs: expect.any(Number),
      removed: [{ login, role: reader, source: 'standing' }],
    });
    expect(report.timeline[0].what).toMatch(/reported by dana/);
    expect(
      (await api.call('GET', '/v1/me', { authorization: `Bearer ${serviceToken}` })).status,
    ).toBe(401);
  });

  test('refuses new requests from the quarantined identity, whatever token it holds', async () => {
    const fresh = await mintToken(harness.db, 'svc-api', 'new');
    const response = await api.call('POST', '/v1/requests', {
      authorization: `Bearer ${fresh}`,
      body: { entitlement: 'target/analyst', duration: '30m', reason: 'x' },
    });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatch(/quarantined/);
  });

  test('restores after two approvals and the report names both approvers', async () => {
    const first = await api
      .as('dana')
      .post(`/v1/incidents/${id}/restore`, { reason: 'rotated upstream' });
    expect(first.status).toBe(200);
    const again = await api.as('dana').post(`/v1/incidents/${id}/restore`);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('dana has already approved the restore');
    const owner = await api.as('olivia').post(`/v1/incidents/${id}/restore`);
    expect(owner.status).toBe(403);
    expect(owner.body.error).toBe('olivia may not approve restores: members of security may');
    // The approval that completes the quorum answers at once; the restore is read from the status.
    const second = await api.as('erin').post(`/v1/incidents/${id}/restore`);
    expect(second.body.status).toBe('RESTORING');
    await waitFor('the restore', async () => (await reportOf(id)).status === 'RESTORED');
    const late = await api.as('dana').post(`/v1/incidents/${id}/close`);
    expect(late.status).toBe(409);
    // Refused by the rules while the workflow winds down, by Temporal once it has ended.
    expect(late.body.error).toMatch(
      new RegExp(`^incident ${id} (has already ended|is already restored)$`),
    );
    expect(await harness.isMember(reader, login)).toBe(true);
    const report = await reportOf(id);
    expect(report.approvals.map((a: { approver: string }) => a.approver)).toEqual(['dana', 'erin']);
    expect(report.timeline.map((e: { what: string }) => e.what)).toContain('restored');
  });
});

describe('POST /v1/hooks/incident', () => {
  const body = JSON.stringify({
    identity: 'svc-hook',
    reason: 'anomalous logins',
    severity: 'high',
  });
  const now = () => Math.floor(Date.now() / 1000);
  const send = (raw: string, timestamp: number, signature: string) =>
    fetch(`${api.baseUrl}/v1/hooks/incident`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'keyward-timestamp': String(timestamp),
        'keyward-signature': signature,
      },
      body: raw,
    });
  const hookIncidents = async () =>
    (await api.as('dana').get('/v1/incidents')).body.incidents.filter(
      (i: { identity: string }) => i.identity === 'svc-hook',
    );

  test('refuses a bad signature, a stale timestamp and a missing header, and opens nothing', async () => {
    const t = now();
    expect((await send(body, t, webhookSignature('another key', t, body))).status).toBe(401);
    const tampered = body.replace('high', 'low');
    expect((await send(tampered, t, webhookSignature(SECRET, t, body))).status).toBe(401);
    const stale = t - 6 * 60;
    expect((await send(body, stale, webhookSignature(SECRET, stale, body))).status).toBe(401);
    const unsigned = await fetch(`${api.baseUrl}/v1/hooks/incident`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unsigned.status).toBe(401);
    expect(await hookIncidents()).toEqual([]);
  });

  test('accepts a valid signature without a bearer token, once: the same delivery again is refused', async () => {
    const t = now();
    const signature = webhookSignature(SECRET, t, body);
    const accepted = await send(body, t, signature);
    expect(accepted.status).toBe(201);
    const { id } = (await accepted.json()) as { id: string };
    expect((await send(body, t, signature)).status).toBe(409);
    expect(await hookIncidents()).toHaveLength(1);
    const report = await contained(id);
    expect(report.reportedBy).toBe('keyward:webhook');
    const closing = await api
      .as('erin')
      .post(`/v1/incidents/${id}/close`, { reason: 'decommissioned' });
    expect(closing.body.status).toBe('CLOSING');
    const closed = await waitFor('the close', async () => {
      const report = await reportOf(id);
      return report.status === 'CLOSED' && report;
    });
    expect(closed).toMatchObject({
      closedBy: 'erin',
      closeReason: 'decommissioned',
      closedAt: expect.any(String),
    });
    // Closed without restore, the identity stays quarantined: still once the workflow has ended
    // and the incident's record reads closed.
    await harness.client.workflow.getHandle(`incident/${id}`).result();
    expect(await findIncident(harness.db, id)).toMatchObject({
      status: 'CLOSED',
      closed_at: expect.any(Date),
    });
    expect(await isQuarantined(harness.db, 'svc-hook')).toBe(true);
  });

  test('opens a new incident after one was closed, and its restore lifts the quarantine', async () => {
    const opened = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'svc-hook', reason: 'back in service' });
    expect(opened.status).toBe(201);
    await contained(opened.body.id);
    await api.as('dana').post(`/v1/incidents/${opened.body.id}/restore`);
    expect((await api.as('erin').post(`/v1/incidents/${opened.body.id}/restore`)).body.status).toBe(
      'RESTORING',
    );
    await waitFor(
      'the quarantine lifted',
      async () => !(await isQuarantined(harness.db, 'svc-hook')),
    );
  });

  test('lets the detection system retry a delivery that keyward failed to act on', async () => {
    const raw = JSON.stringify({ identity: 'svc-hook', reason: 'second look', severity: 'low' });
    const t = now();
    const signature = webhookSignature(SECRET, t, raw);
    const start = harness.client.workflow.start.bind(harness.client.workflow);
    harness.client.workflow.start = () => Promise.reject(new Error('Temporal is down'));
    try {
      expect((await send(raw, t, signature)).status).toBe(500);
    } finally {
      harness.client.workflow.start = start;
    }
    const retried = await send(raw, t, signature);
    expect(retried.status).toBe(201);
    const { id } = (await retried.json()) as { id: string };
    await contained(id);
    await api.as('erin').post(`/v1/incidents/${id}/close`);
  });
});

describe('incidents nobody could restore', () => {
  test('contain the identity all the same, and say that nobody can restore it', async () => {
    const response = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'erin', reason: 'phished' });
    expect(response.status).toBe(201);
    expect(response.body.warning).toBe(
      'nobody can restore erin: restoring needs 2 members of security other than erin and its owner, and it has 1',
    );
    expect(await isQuarantined(harness.db, 'erin')).toBe(true);
    const events = await listAuditEvents(harness.db, { subject: 'erin' });
    expect(events.map((e) => e.action)).toContain('incident.unrestorable');
    await contained(response.body.id);
    const closed = await api
      .as('dana')
      .post(`/v1/incidents/${response.body.id}/close`, { reason: 'test over' });
    expect(closed.status).toBe(200);
  });

  test('answer an outsider the same for an unknown incident as for a known one', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const action of ['restore', 'close', 'retry']) {
      const response = await api.as('bob').post(`/v1/incidents/${unknown}/${action}`);
      expect(response.status).toBe(403);
    }
  });
});
