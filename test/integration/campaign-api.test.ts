import type { AddressInfo } from 'node:net';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { reviewerWorkflowId } from '../../domain/campaign';
import type { PolicyInput } from '../../domain/policy';
import { buildApp } from '../../server/app';
import { createCampaign, findCampaign, itemsPage, listCampaigns } from '../../store/campaigns';
import { mintToken } from '../../store/tokens';
import { decideItemsUpdate } from '../../workflows/campaign/definitions';
import { CampaignHarness } from '../support/campaign-harness';
import { targetSystem } from '../support/policies';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// Roles and logins are cluster-wide, so each run of this file names its own.
const run = uniqueName('capi');
const login = (id: string) => `${run}_${id}`;
const role = `${run}_read`;

function policy(): PolicyInput {
  const person = (id: string, manager?: string) => ({
    id,
    ...(manager && { manager }),
    logins: { target: login(id) },
  });
  return {
    version: 1,
    settings: { adminGroup: 'security', campaignFallbackGroup: 'fallback' },
    // alice's item goes to her manager mia; carol's and erin's (no manager) to rita of the fallback group.
    identities: [
      person('alice', 'mia'),
      person('carol'),
      person('erin'),
      person('mia'),
      person('rita'),
      person('dana'),
      person('sam'),
    ],
    groups: [
      { id: 'security', members: ['sam'] },
      { id: 'fallback', members: ['rita'] },
    ],
    systems: [targetSystem],
    entitlements: [
      {
        id: 'target/read',
        system: 'target',
        role,
        riskTier: 'low',
        maxDuration: '1h',
        approval: { required: 0 },
      },
    ],
  };
}

const harness = new CampaignHarness(policy());
let app: FastifyInstance;
let baseUrl = '';

beforeAll(async () => {
  await harness.start();
  await harness.memberships([role], {
    [login('alice')]: [role],
    [login('carol')]: [role],
    [login('erin')]: [role],
  });
  app = buildApp({ ...harness.deps, logLevel: 'silent' });
  baseUrl = await serve(app);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await harness.stop();
}, 60_000);

/** Serves `server` on a loopback port; the base URL to reach it. */
async function serve(server: FastifyInstance): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
}

/** Calls the real HTTP API as `identity`, at `base` (the app of this file by default). */
async function call(
  identity: string,
  method: 'GET' | 'POST',
  path: string,
  payload?: unknown,
  base = baseUrl,
) {
  const token = await mintToken(harness.db, identity, 'test');
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(payload !== undefined && { 'content-type': 'application/json' }),
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A campaign of alice's item (reviewed by mia), carol's and erin's (reviewed by rita), all open. */
async function reviewing(): Promise<{ id: string; alice: number; carol: number }> {
  const id = await harness.launch({ name: `API ${run}`, deadline: '5m' });
  await harness.waitPhase(id, 'REVIEWING');
  const items = await itemsPage(harness.db, id, 0, 10);
  const seq = (identity: string) => items.find((i) => i.identity === identity)!.seq;
  return { id, alice: seq('alice'), carol: seq('carol') };
}

const itemOf = async (id: string, seq: number) =>
  (await itemsPage(harness.db, id, 0, 10)).find((i) => i.seq === seq)!;

describe('the campaign API', () => {
  it('refuses a campaign with bad input with a 400 that names the field, and records nothing', async () => {
    const bad: [Record<string, unknown> | unknown[], string][] = [
      [
        { name: 'x', deadline: '2d', remind: '1d,3d' },
        'remind.1: 3d must be shorter than the deadline',
      ],
      [
        { name: 'x', deadline: '2d', remind: ['1d', '24h'] },
        'remind.1: 1d is already a reminder lead time',
      ],
      [
        { name: 'x', deadline: '2d', escalateAfter: '2d' },
        'escalateAfter: 2d must be shorter than the deadline',
      ],
      [
        { name: 'x', deadline: '30d', remind: '1d,2d,3d,4d,5d,6d,7d,8d,9d,10d,11d' },
        'remind: Too big',
      ],
      [{ name: 'x', deadline: 172_800_000 }, 'deadline: Invalid input: expected string'],
      [{ name: 'x', deadline: '99999999d' }, 'deadline: "99999999d" is not a duration'],
      [{ name: 'x', deadline: '2d', notify: 'dana' }, 'Unrecognized key: "notify"'],
      [
        { name: 'x', deadline: '2d', scope: { systems: ['tagret'] } },
        'scope.systems.0: unknown system "tagret"',
      ],
      [
        { name: 'x', deadline: '2d', massRevocationShare: 'half' },
        'massRevocationShare: Invalid input',
      ],
      [{ name: 'x'.repeat(201), deadline: '2d' }, 'name: Too big'],
      [{ id: '../c1', name: 'x', deadline: '2d' }, 'id: must be 1-63 letters'],
      [[{ name: 'x', deadline: '2d' }], 'expected object'],
    ];
    for (const [body, problem] of bad) {
      const response = await call('sam', 'POST', '/v1/campaigns', body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(response.body.error).toContain(problem);
    }
    expect(await listCampaigns(harness.db)).toEqual([]);
  });

  it('checks every item of a bulk decision or delegation first, so one refusal changes nothing', async () => {
    const { id, alice, carol } = await reviewing();
    await harness.service.delegate('mia', id, [alice], 'dana');

    // dana may decide alice's item (delegated to her), not carol's; nothing of the request is applied.
    const decided = await call('dana', 'POST', `/v1/campaigns/${id}/decisions`, {
      decisions: [
        { item: alice, decision: 'certify' },
        { item: carol, decision: 'certify' },
      ],
    });
    expect(decided).toEqual({
      status: 403,
      body: { error: `dana is not a reviewer of item ${carol}` },
    });
    expect(await itemOf(id, alice)).toMatchObject({ decision: null, decided_by: null });

    const delegated = await call('dana', 'POST', `/v1/campaigns/${id}/delegations`, {
      items: [alice, carol],
      to: 'sam',
    });
    expect(delegated).toEqual({
      status: 403,
      body: { error: `dana is not a reviewer of item ${carol}` },
    });
    expect(await itemOf(id, alice)).toMatchObject({ delegate: 'dana' });

    const badDecisions: [unknown, number, string][] = [
      [
        {
          decisions: [
            { item: alice, decision: 'certify' },
            { item: alice, decision: 'revoke' },
          ],
        },
        400,
        `item ${alice} is named twice`,
      ],
      [{ decisions: [{ item: 1e12, decision: 'certify' }] }, 400, 'decisions.0.item: Too big'],
      [{ decisions: [{ item: alice, decision: 'maybe' }] }, 400, 'decisions.0.decision'],
      [
        { decisions: [{ item: alice, decision: 'revoke', reason: 'x\u202e' }] },
        400,
        'decisions.0.reason',
      ],
      [
        { decisions: [{ item: alice, decision: 'revoke' }] },
        400,
        `item ${alice}: a revocation needs a reason`,
      ],
      [
        { decisions: [{ item: alice, decision: 'revoke', reason: ' \t ' }] },
        400,
        `item ${alice}: a revocation needs a reason`,
      ],
      [
        { decisions: [{ item: alice, decision: 'certify' }], actor: 'mia' },
        400,
        'Unrecognized key: "actor"',
      ],
      [{ decisions: [] }, 400, 'decisions: Too small'],
      [{ decisions: [{ item: 999, decision: 'certify' }] }, 404, `no item 999 in campaign ${id}`],
    ];
    for (const [body, status, problem] of badDecisions) {
      const response = await call('dana', 'POST', `/v1/campaigns/${id}/decisions`, body);
      expect({ body, status: response.status }).toEqual({ body, status });
      expect(response.body.error).toContain(problem);
    }
    const badDelegations: [unknown, string][] = [
      [{ items: [alice], to: 'dana' }, 'delegate to somebody else'],
      [{ items: [alice], to: 'nobody' }, 'no identity nobody in the policy'],
      [{ items: [alice, alice], to: 'sam' }, `item ${alice} is named twice`],
      [{ items: [alice], to: 'alice' }, `alice may not review their own access (item ${alice})`],
      [{ items: ['1'], to: 'sam' }, 'items.0: Invalid input: expected number'],
    ];
    for (const [body, problem] of badDelegations) {
      const response = await call('dana', 'POST', `/v1/campaigns/${id}/delegations`, body);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.body.error).toContain(problem);
    }
    expect(await itemOf(id, alice)).toMatchObject({ decision: null, delegate: 'dana' });
    await harness.service.cancel('sam', id);
  });

  it('says which items were recorded and which were not when a later reviewer refuses in a race', async () => {
    const { id, alice, carol } = await reviewing();
    await harness.service.delegate('mia', id, [alice], 'dana');
    await harness.service.delegate('rita', id, [carol], 'dana');
    // Between the check and the update to rita's workflow, dana decides carol's item elsewhere.
    const ritas = reviewerWorkflowId(id, 'rita');
    const racing = new Proxy(harness.client, {
      get: (target, prop, receiver) =>
        prop !== 'workflow'
          ? Reflect.get(target, prop, receiver)
          : {
              getHandle: (workflowId: string) =>
                workflowId === ritas
                  ? raced(target, ritas, carol)
                  : target.workflow.getHandle(workflowId),
            },
    });
    const server = buildApp({ ...harness.deps, temporal: racing, logLevel: 'silent' });
    const racingUrl = await serve(server);
    const response = await call(
      'dana',
      'POST',
      `/v1/campaigns/${id}/decisions`,
      {
        decisions: [
          { item: alice, decision: 'certify' },
          { item: carol, decision: 'certify' },
        ],
      },
      racingUrl,
    );
    await server.close();
    expect(response).toEqual({
      status: 409,
      body: {
        error: `items ${alice} were recorded; items ${carol} were not: item ${carol} is already decided`,
        applied: [alice],
        refused: [carol],
      },
    });
    expect(await itemOf(id, alice)).toMatchObject({ decision: 'certify', decided_by: 'dana' });
    await waitFor(
      "dana's other decision",
      async () => (await itemOf(id, carol)).decided_by === 'dana',
    );
  });

  it('lets an admin decline a held mass revocation over HTTP, and refuses a retry when nothing failed', async () => {
    const id = await harness.launch({ name: `decline ${run}`, deadline: '4s', default: 'revoke' });
    await harness.waitPhase(id, 'AWAITING_CONFIRMATION');
    expect(await call('mia', 'POST', `/v1/campaigns/${id}/decline`)).toMatchObject({ status: 403 });
    expect(await call('sam', 'POST', `/v1/campaigns/${id}/decline`, { force: true })).toMatchObject(
      { status: 400 },
    );
    expect(await call('sam', 'POST', `/v1/campaigns/${id}/remediate`)).toMatchObject({
      status: 409,
      body: {
        error: `campaign ${id} has not completed (awaiting_confirmation); nothing to retry yet`,
      },
    });

    const declined = await call('sam', 'POST', `/v1/campaigns/${id}/decline`);
    expect(declined).toMatchObject({ status: 200, body: { declinedBy: 'sam' } });
    await harness.waitPhase(id, 'COMPLETED');
    expect((await itemsPage(harness.db, id, 0, 10)).every((i) => i.decision === 'certify')).toBe(
      true,
    );
    expect(await harness.jit.isMember(role, login('alice'))).toBe(true);
    expect(await call('sam', 'POST', `/v1/campaigns/${id}/confirm`)).toMatchObject({ status: 409 });
    expect(await call('sam', 'POST', `/v1/campaigns/${id}/remediate`)).toMatchObject({
      status: 409,
      body: { error: `campaign ${id} has no failed revocations to retry` },
    });
  });

  it('answers a campaign whose stored spec cannot be read as a fault of the server, not of the request', async () => {
    const id = `broken-${run}`.replace(/_/g, '-');
    await createCampaign(harness.db, {
      id,
      name: 'broken',
      spec: { deadline: 'soon' },
      createdBy: 'sam',
    });
    expect(await findCampaign(harness.db, id)).toBeDefined();
    const response = await call('sam', 'GET', `/v1/campaigns/${id}`);
    expect(response).toEqual({
      status: 500,
      body: { error: 'internal error; the server log has the details' },
    });
  });
});

/** A handle on rita's reviewer workflow that lets dana decide `seq` first, then sends what it was given. */
function raced(client: Client, workflowId: string, seq: number): WorkflowHandle {
  const handle = client.workflow.getHandle(workflowId);
  const executeUpdate = async (...args: Parameters<WorkflowHandle['executeUpdate']>) => {
    await handle.executeUpdate(decideItemsUpdate, {
      args: [{ actor: 'dana', decisions: [{ seq, decision: 'certify' }], channel: 'api' }],
    });
    return handle.executeUpdate(...args);
  };
  return { ...handle, executeUpdate } as WorkflowHandle;
}
