import { randomBytes, randomUUID } from 'node:crypto';
import { PolicyView } from '../../domain/access';
import { JitStatus } from '../../domain/jit';
import { revokeTokensOf } from '../../store/tokens';
import { jitWorkflowId } from '../../workflows/jit/definitions';
import { ApiHarness } from '../support/api-harness';
import { JitHarness } from '../support/jit-harness';
import { targetEntitlement, targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const analyst = uniqueName('analyst');
const aliceLogin = uniqueName('alice');
const bobLogin = uniqueName('bob');

const harness = JitHarness.fromDocument({
  version: 1,
  settings: { approvalWindow: '10m' },
  identities: [
    { id: 'alice', logins: { target: aliceLogin } },
    { id: 'bob', logins: { target: bobLogin } },
    { id: 'carol' },
    { id: 'dana' },
    { id: 'erin' },
    { id: 'oscar' },
    { id: 'mallory' },
  ],
  groups: [
    { id: 'approvers', members: ['alice', 'bob', 'carol'] },
    { id: 'security', members: ['dana'] },
  ],
  systems: [targetSystem],
  entitlements: [targetEntitlement('analyst', analyst)],
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let api: ApiHarness;
/** Every request the tests start; whatever is still live at the end is ended, so no grant outlives the file. */
const started = new Set<string>();

const body = (overrides: Record<string, unknown> = {}) => ({
  entitlement: 'target/analyst',
  duration: '10m',
  reason: 'investigate a slow query',
  ...overrides,
});

const keyed = (key: string) => ({ 'idempotency-key': key });

/** Ends what earlier tests left live: one identity holds one live request per entitlement. */
async function endLiveRequests(): Promise<void> {
  for (const id of started) {
    const response = await api
      .as('dana')
      .post(`/v1/requests/${id}/revoke`, { reason: 'next test' });
    if (response.status === 200 || response.status === 409) started.delete(id);
  }
}

async function newRequest(requester: string, headers?: Record<string, string>): Promise<string> {
  const response = await api.as(requester).post('/v1/requests', body(), headers);
  expect(response.status).toBe(201);
  started.add(response.body.id);
  return response.body.id;
}

/** Waits until the request's workflow has closed, not only until its last update answered. */
const ended = (id: string) => harness.client.workflow.getHandle(jitWorkflowId(id)).result();

async function grantedRequest(requester: string, approver: string): Promise<string> {
  const id = await newRequest(requester);
  const approved = await api.as(approver).post(`/v1/requests/${id}/approve`);
  expect(approved.status).toBe(200);
  expect(approved.body.status).toBe(JitStatus.GRANTED);
  return id;
}

beforeAll(async () => {
  await harness.start();
  await harness.createRoles(
    { name: analyst },
    { name: aliceLogin, login: true },
    { name: bobLogin, login: true },
  );
  api = await ApiHarness.start(harness);
});

afterAll(async () => {
  if (api) {
    for (const id of started)
      await api.as('dana').post(`/v1/requests/${id}/revoke`, { reason: 'test cleanup' });
    await api.close();
  }
  await harness.stop();
});

beforeEach(() => endLiveRequests());

describe('authentication', () => {
  test('refuses the token of someone no longer in the policy', async () => {
    const token = await api.tokenFor('zed');
    const response = await api.call('GET', '/v1/me', { authorization: `Bearer ${token}` });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'zed is no longer in the policy' });
  });

  test('answers /healthz without a token', async () => {
    const response = await api.call('GET', '/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ok: true });
  });

  test('answers 401 without a token or with a malformed header, and never echoes what was sent', async () => {
    const missing = await api.call('GET', '/v1/me');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatch(/missing bearer token/);

    const token = await api.tokenFor('alice');
    for (const authorization of [`Token ${token}`, 'Bearer', `Bearer ${token} extra`, token]) {
      const response = await api.call('GET', '/v1/me', { authorization });
      expect(response.status).toBe(401);
      expect(response.text).not.toContain(token);
    }
  });

  test('answers 401 for an unknown token and for a revoked one, and never echoes the token', async () => {
    const unknown = `kwt_${randomBytes(32).toString('base64url')}`;
    const refused = await api.call('GET', '/v1/me', { authorization: `Bearer ${unknown}` });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid or revoked token');
    expect(refused.text).not.toContain(unknown);

    const token = await api.tokenFor('oscar');
    const before = await api.call('GET', '/v1/me', { authorization: `Bearer ${token}` });
    expect(before).toMatchObject({ status: 200, body: { identity: 'oscar', admin: false } });

    expect(await revokeTokensOf(harness.db, 'oscar')).toBe(1);
    const after = await api.call('GET', '/v1/me', { authorization: `Bearer ${token}` });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid or revoked token');
    expect(after.text).not.toContain(token);
  });
});

describe('POST /v1/requests', () => {
  test('creates a pending request whose approvers exclude the requester', async () => {
    const response = await api.as('alice').post('/v1/requests', body());
    expect(response.status).toBe(201);
    started.add(response.body.id);
    expect(response.body).toEqual({
      id: expect.stringMatching(UUID),
      status: JitStatus.PENDING,
      entitlement: 'target/analyst',
      durationMs: 600_000,
      required: 1,
      approvers: ['bob', 'carol'],
    });

    const read = await api.as('alice').get(`/v1/requests/${response.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      requestId: response.body.id,
      requester: 'alice',
      status: JitStatus.PENDING,
    });
  });

  test('refuses bad requests with a message that names the problem, and starts nothing for them', async () => {
    const erin = api.as('erin');
    // Every refused request carries the same key: were any of them started, the last POST would be a repeat.
    const key = randomUUID();

    const unknown = await erin.post(
      '/v1/requests',
      body({ entitlement: 'target/nothing' }),
      keyed(key),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('target/nothing');

    const tooLong = await erin.post('/v1/requests', body({ duration: '2h' }), keyed(key));
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error).toMatch(/2h.*1h/);

    const forever = await erin.post('/v1/requests', body({ duration: 'forever' }), keyed(key));
    expect(forever.status).toBe(400);
    expect(forever.body.error).toMatch(/\bduration\b/);

    const extra = await erin.post('/v1/requests', body({ colour: 'blue' }), keyed(key));
    expect(extra.status).toBe(400);
    expect(extra.body.error).toContain('colour');

    const valid = await erin.post('/v1/requests', body(), keyed(key));
    expect(valid.status).toBe(201);
    started.add(valid.body.id);
    const listed = await waitFor('the valid request in the list', async () => {
      const { body: list } = await erin.get('/v1/requests');
      return list.requests.length > 0 && list.requests;
    });
    expect(listed.map((r: { id: string }) => r.id)).toEqual([valid.body.id]);
  });
});

describe('Idempotency-Key', () => {
  test('refuses a reason carrying control characters, direction overrides or broken unicode', async () => {
    for (const reason of [
      'nul\u0000here',
      'esc \u001b[2J',
      'swap \u202e sdrawkcab',
      'lone \ud800 half',
    ]) {
      const response = await api.as('carol').post('/v1/requests', body({ reason }));
      expect(response.status).toBe(400);
      expect(response.body.error).toMatch(
        /^invalid request: reason: must not contain control characters/,
      );
    }
  });

  test('refuses a second live request for the same entitlement and names the first', async () => {
    const first = await newRequest('carol');
    const second = await api.as('carol').post('/v1/requests', body());
    expect(second.status).toBe(409);
    expect(second.body.error).toBe(
      `carol already has request ${first} for target/analyst (pending)`,
    );
  });

  test('answers a repeated POST with the same request, and keys are per identity', async () => {
    const key = randomUUID();
    const id = await newRequest('alice', keyed(key));

    const repeated = await api.as('alice').post('/v1/requests', body(), keyed(key));
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual({ id, repeated: true });

    const otherUser = await newRequest('bob', keyed(key));
    expect(otherUser).not.toBe(id);
  });

  test('refuses a key repeated with a different request instead of answering with the first', async () => {
    const key = randomUUID();
    await newRequest('alice', keyed(key));

    const changed = await api
      .as('alice')
      .post('/v1/requests', body({ duration: '20m' }), keyed(key));
    expect(changed.status).toBe(422);
    expect(changed.body.error).toBe('this Idempotency-Key was first used for a different request');
  });

  test('refuses a blank, overlong or non-ASCII key and starts nothing', async () => {
    const before = (await api.as('erin').get('/v1/requests')).body.requests;
    for (const key of ['', ' ', 'k'.repeat(256), 'clé']) {
      const response = await api.as('erin').post('/v1/requests', body(), keyed(key));
      expect(response.status).toBe(400);
      expect(response.body.error).toBe(
        'Idempotency-Key must be one header of 1 to 255 visible ASCII characters',
      );
    }
    expect((await api.as('erin').get('/v1/requests')).body.requests).toEqual(before);
  });

  test('answers one of two racing posts with one key and different bodies as a conflict', async () => {
    const key = randomUUID();
    const answers = await Promise.all([
      api.as('alice').post('/v1/requests', body(), keyed(key)),
      api.as('alice').post('/v1/requests', body({ duration: '20m' }), keyed(key)),
    ]);
    for (const answer of answers) if (answer.status === 201) started.add(answer.body.id);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 422]);
  });

  test('starts nothing new when a POST is repeated after its request has ended', async () => {
    const key = randomUUID();
    const id = await newRequest('alice', keyed(key));
    const cancelled = await api.as('alice').post(`/v1/requests/${id}/revoke`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe(JitStatus.CANCELLED);
    await ended(id);

    const repeated = await api.as('alice').post('/v1/requests', body(), keyed(key));
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual({ id, repeated: true });
    expect((await api.as('alice').get(`/v1/requests/${id}`)).body.status).toBe(JitStatus.CANCELLED);
  });
});

describe('GET /v1/requests/:id', () => {
  test('shows a request to its requester, its approvers and admins, and tells anyone else why not', async () => {
    const id = await newRequest('alice');
    for (const reader of ['alice', 'bob', 'dana']) {
      const response = await api.as(reader).get(`/v1/requests/${id}`);
      expect(response.status).toBe(200);
      expect(response.body.requestId).toBe(id);
    }

    const outsider = await api.as('mallory').get(`/v1/requests/${id}`);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toContain('mallory may not see request');
    expect(outsider.body.error).toMatch(/only its requester, its approvers and admins/);
  });

  test('answers 400 for a malformed id and 404 for an unknown one', async () => {
    const malformed = await api.as('alice').get('/v1/requests/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/id: is not a request id/);

    const unknownId = randomUUID();
    const unknown = await api.as('alice').get(`/v1/requests/${unknownId}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe(`no request ${unknownId}`);
  });
});

describe('deciding and revoking', () => {
  test('refuses a decision from someone taken out of the approver groups since the request was made', async () => {
    const id = await newRequest('alice');
    const original = harness.policy;
    const document = structuredClone(original.policy);
    document.groups = document.groups.map((g) =>
      g.id === 'approvers' ? { ...g, members: ['alice', 'carol'] } : g,
    );
    Object.assign(harness, { policy: new PolicyView(document) });
    try {
      const refused = await api.as('bob').post(`/v1/requests/${id}/approve`);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe(
        'bob is not an approver for target/analyst (its approvers are the members of group approvers)',
      );
    } finally {
      Object.assign(harness, { policy: original });
    }
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
  });

  test("refuses self-approval, outsiders and a reasonless denial, then grants on an approver's approval", async () => {
    const id = await newRequest('alice');

    const own = await api.as('alice').post(`/v1/requests/${id}/approve`);
    expect(own.status).toBe(403);
    expect(own.body.error).toBe('alice cannot decide their own request');

    const outsider = await api.as('mallory').post(`/v1/requests/${id}/approve`);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toContain('mallory is not an approver for target/analyst');

    const reasonless = await api.as('carol').post(`/v1/requests/${id}/deny`, {});
    expect(reasonless.status).toBe(400);
    expect(reasonless.body.error).toContain('a denial needs a reason');
    const untouched = await api.as('alice').get(`/v1/requests/${id}`);
    expect(untouched.body).toMatchObject({ status: JitStatus.PENDING, approvals: [] });
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);

    const approved = await api
      .as('bob')
      .post(`/v1/requests/${id}/approve`, { reason: 'looks fine' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: JitStatus.GRANTED,
      expiresAt: expect.any(String),
    });
    expect(Date.parse(approved.body.expiresAt) - Date.parse(approved.body.grantedAt)).toBe(600_000);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);

    for (const approver of ['bob', 'carol']) {
      const again = await api.as(approver).post(`/v1/requests/${id}/approve`);
      expect(again.status).toBe(409);
      expect(again.body.error).toBe(`request ${id} is already granted`);
    }

    expect((await api.as('alice').post(`/v1/requests/${id}/revoke`)).status).toBe(200);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
  });

  test('lets the requester revoke but not an outsider, removes the role, and refuses a second revoke', async () => {
    const id = await grantedRequest('alice', 'carol');
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);

    const outsider = await api.as('mallory').post(`/v1/requests/${id}/revoke`);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toBe(`mallory may not end request ${id}`);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);

    const revoked = await api
      .as('alice')
      .post(`/v1/requests/${id}/revoke`, { reason: 'done early' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      status: JitStatus.REVOKED,
      revokedBy: 'alice',
      revokeCause: 'revoked',
    });
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);

    await ended(id);
    const again = await api.as('alice').post(`/v1/requests/${id}/revoke`);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe(`request ${id} has already ended`);
  });
});

describe('GET /v1/grants', () => {
  test("shows people their own grants, refuses them anyone else's, and shows admins everyone's", async () => {
    const alices = await grantedRequest('alice', 'bob');
    const bobs = await grantedRequest('bob', 'carol');
    const ids = (grants: { requestId: string }[]) => grants.map((g) => g.requestId);

    const own = await api.as('alice').get('/v1/grants');
    expect(own.status).toBe(200);
    expect(ids(own.body.grants)).toContain(alices);
    expect(ids(own.body.grants)).not.toContain(bobs);
    expect(new Set(own.body.grants.map((g: { identity: string }) => g.identity))).toEqual(
      new Set(['alice']),
    );

    const others = await api.as('alice').get('/v1/grants?identity=bob');
    expect(others.status).toBe(403);
    expect(others.body.error).toBe('alice is not an admin and sees only their own grants');

    const everyone = await api.as('dana').get('/v1/grants');
    expect(everyone.status).toBe(200);
    expect(ids(everyone.body.grants)).toEqual(expect.arrayContaining([alices, bobs]));

    const bobsOnly = await api.as('dana').get('/v1/grants?identity=bob&active=true');
    expect(ids(bobsOnly.body.grants)).toEqual([bobs]);

    for (const [revoker, id] of [
      ['alice', alices],
      ['dana', bobs],
    ]) {
      expect((await api.as(revoker).post(`/v1/requests/${id}/revoke`)).body.status).toBe(
        JitStatus.REVOKED,
      );
    }
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    expect(await harness.isMember(analyst, bobLogin)).toBe(false);
  });
});

describe('bad input', () => {
  test('refuses a JSON null body to a decision, and records nothing', async () => {
    const id = await newRequest('carol');
    const refused = await api
      .as('bob')
      .postRaw(`/v1/requests/${id}/approve`, 'null', 'application/json');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^invalid request: body: /);
    expect((await api.as('bob').get(`/v1/requests/${id}`)).body).toMatchObject({
      status: JitStatus.PENDING,
      approvals: [],
    });
  });

  test('refuses ids in query strings that no id could be, such as a NUL, with a 400', async () => {
    for (const path of [
      '/v1/audit?subject=%00',
      '/v1/audit?actor=a%00b',
      '/v1/grants?identity=a%00b',
    ]) {
      const response = await api.as('dana').get(path);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatch(/^invalid request: (subject|actor|identity): is not an/);
    }
  });
});

describe('GET /v1/audit', () => {
  test('shows the log and its verification to admins only', async () => {
    const id = await newRequest('carol');
    const events = await waitFor('the request.created event', async () => {
      const response = await api.as('dana').get(`/v1/audit?subject=${id}`);
      expect(response.status).toBe(200);
      return response.body.events.length > 0 && response.body.events;
    });
    expect(events[0]).toMatchObject({ action: 'request.created', actor: 'carol', subject: id });

    const verify = await api.as('dana').get('/v1/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true, events: expect.any(Number) });

    for (const path of ['/v1/audit', '/v1/audit/verify']) {
      const refused = await api.as('carol').get(path);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toContain('carol is not in the admin group');
    }
  });
});
