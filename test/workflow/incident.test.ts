import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createIncidentActivities } from '../../activities/incident';
import type { Contained, IncidentActivityDeps } from '../../activities/incident';
import { createRotationActivities } from '../../activities/rotation';
import type { PlanResult, RollbackResult } from '../../domain/rotation';
import { planIncident } from '../../domain/incident-plan';
import { IncidentStatus } from '../../domain/incident';
import type { IncidentState } from '../../domain/incident';
import type { PolicyInput } from '../../domain/policy';
import { createSecretCipher } from '../../integrations/secrets/cipher';
import { listAuditEvents } from '../../store/audit';
import { findVersion, sealContext, versionWithLabel } from '../../store/credential-versions';
import { reserveIncident } from '../../store/incidents';
import { identityForToken, mintToken } from '../../store/tokens';
import { decideUpdate, statusQuery } from '../../workflows/jit/definitions';
import {
  approveRestoreUpdate,
  closeIncidentUpdate,
  incidentStatusQuery,
  retryIncidentUpdate,
} from '../../workflows/incident/definitions';
import { incidentWorkflowId } from '../../workflows/incident/definitions';
import { incidentWorkflow } from '../../workflows/incident/workflow';
import { rotationWorkflow } from '../../workflows/rotation/workflow';
import { ident, JitHarness } from '../support/jit-harness';
import { targetEntitlement, targetSystem } from '../support/policies';
import { SecondCluster } from '../support/second-cluster';
import { superuserQuery, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

const run = uniqueName('inc');
const SECOND_ENV = 'KEYWARD_TEST_SECOND_URL';
const login = { a: `${run}_svc_a`, b: `${run}_svc_b` };
const alternating = [`${run}_b_blue`, `${run}_b_green`];
const roles = {
  analyst: `${run}_analyst`,
  writer: `${run}_writer`,
  reader: `${run}_reader`,
  // Dropped on the target between containment and restore.
  ledger: `${run}_ledger`,
};
const PASSWORD = 'initial-password-of-the-test';

function policy(): PolicyInput {
  const svc = (id: string, name: string) => ({
    id,
    kind: 'non-human' as const,
    owner: 'olivia',
    logins: { target: name, second: name },
  });
  return {
    version: 1,
    settings: { incidentAlertAfter: '2s' },
    identities: [
      { id: 'olivia' },
      { id: 'bob' },
      { id: 'dana' },
      { id: 'erin' },
      svc('svc-a', login.a),
      svc('svc-b', login.b),
    ],
    groups: [
      { id: 'approvers', members: ['bob'] },
      // The owner sits in the security group too, so the rule that keeps owners out is what refuses her.
      { id: 'security', members: ['dana', 'erin', 'olivia'] },
    ],
    systems: [targetSystem, { id: 'second', type: 'postgres', connection: `env:${SECOND_ENV}` }],
    entitlements: [
      targetEntitlement('analyst', roles.analyst),
      targetEntitlement('writer', roles.writer),
    ],
    credentials: [
      {
        id: 'target/svc-a',
        identity: 'svc-a',
        system: 'target',
        strategy: 'single-login',
        every: '30d',
      },
      // An hour of overlap that an incident must not wait for: the previous secret is the compromised one.
      {
        id: 'target/svc-b',
        identity: 'svc-b',
        system: 'target',
        strategy: 'alternating-logins',
        logins: alternating,
        every: '7d',
        overlap: '1h',
      },
    ],
  };
}

const second = new SecondCluster();
let harness: JitHarness;

beforeAll(async () => {
  await second.start();
  harness = JitHarness.fromDocument(policy(), { encrypt: true, env: { [SECOND_ENV]: second.url } });
  await harness.start();
  await harness.createRoles(
    { name: roles.analyst },
    { name: roles.writer },
    { name: roles.reader },
    { name: roles.ledger },
    ...alternating.map((name) => ({ name })),
  );
  for (const name of [login.a, login.b]) {
    await superuserQuery(`CREATE ROLE ${ident(name)} LOGIN PASSWORD '${PASSWORD}'`);
    await superuserQuery(`GRANT ${ident(roles.reader)} TO ${ident(name)}`);
    await superuserQuery(`GRANT ${ident(roles.ledger)} TO ${ident(name)}`);
    await second.query(`CREATE ROLE ${ident(roles.reader)}`).catch(() => undefined);
    await second.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD '${PASSWORD}'`);
    await second.query(`GRANT ${ident(roles.reader)} TO ${ident(name)}`);
  }
}, 240_000);

afterAll(async () => {
  await harness?.stop();
  for (const name of [login.a, login.b]) await superuserQuery(`DROP ROLE IF EXISTS ${ident(name)}`);
  await second.destroy();
});

async function open(identity: string): Promise<WorkflowHandle<typeof incidentWorkflow>> {
  const incidentId = randomUUID();
  return harness.client.workflow.start(incidentWorkflow, {
    workflowId: incidentWorkflowId(incidentId),
    taskQueue: harness.taskQueue,
    args: [
      {
        incidentId,
        identity,
        severity: 'critical',
        reason: 'key found in a public repository',
        reportedBy: 'dana',
        reportedAt: new Date().toISOString(),
        plan: planIncident(harness.policy, identity)!,
      },
    ],
  });
}

const statusOf = (handle: WorkflowHandle) => handle.query(incidentStatusQuery);
const untilStatus = (handle: WorkflowHandle, status: IncidentState['status'], timeoutMs = 90_000) =>
  waitFor(
    `incident ${status}`,
    async () => ((await statusOf(handle)).status === status ? statusOf(handle) : undefined),
    timeoutMs,
  );

async function memberOn(
  where: 'target' | 'second',
  role: string,
  member: string,
): Promise<boolean> {
  if (where === 'target') return harness.isMember(role, member);
  const { rowCount } = await second.query(
    `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`,
    [role, member],
  );
  return rowCount === 1;
}

async function canLoginFlag(where: 'target' | 'second', name: string): Promise<boolean> {
  const sql = 'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1';
  const { rows } =
    where === 'target' ? await superuserQuery(sql, [name]) : await second.query(sql, [name]);
  return rows[0].rolcanlogin as boolean;
}

async function logsIn(connectionString: string): Promise<boolean> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const targetUrlAs = (name: string, password: string) => {
  const config = parseIntoClientConfig(harness.targetUrl);
  return `postgres://${encodeURIComponent(name)}:${encodeURIComponent(password)}@${config.host}:${config.port}/${config.database}`;
};

async function currentSecret(credentialId: string) {
  const info = (await versionWithLabel(harness.db, credentialId, 'current'))!;
  const version = (await findVersion(harness.db, info.id))!;
  return {
    workflowId: version.workflow_id,
    secret: createSecretCipher(harness.encryptionKey).open(
      version.sealed!,
      sealContext(credentialId, version.id),
    ),
  };
}

/** The message a refused update carries from the workflow's validator. */
const refusalOf = (update: Promise<unknown>) =>
  update.then(
    () => 'accepted',
    (err: { cause?: { message?: string } }) => err.cause?.message ?? String(err),
  );

describe('an incident', () => {
  let incident: WorkflowHandle<typeof incidentWorkflow>;
  let granted: WorkflowHandle;
  let pending: WorkflowHandle;

  test('takes every membership, login, session, token and pending request of the identity', async () => {
    granted = await harness.request({
      requester: 'svc-a',
      entitlementId: 'target/analyst',
      durationMs: 30 * 60_000,
      reason: 'nightly backfill',
    });
    await granted.executeUpdate(decideUpdate, { args: [{ actor: 'bob', decision: 'approve' }] });
    await waitFor('the JIT grant', () => harness.isMember(roles.analyst, login.a));
    pending = await harness.request({
      requester: 'svc-a',
      entitlementId: 'target/writer',
      durationMs: 60_000,
      reason: 'x',
    });
    const token = await mintToken(harness.db, 'svc-a', 'test');
    const session = new Client({ connectionString: targetUrlAs(login.a, PASSWORD) });
    const sessionEnded = new Promise<void>((resolve) => session.on('error', () => resolve()));
    await session.connect();

    incident = await open('svc-a');
    const state = await untilStatus(incident, IncidentStatus.CONTAINED);

    for (const where of ['target', 'second'] as const) {
      expect(await memberOn(where, roles.reader, login.a)).toBe(false);
      expect(await canLoginFlag(where, login.a)).toBe(false);
    }
    expect(await harness.isMember(roles.analyst, login.a)).toBe(false);
    await sessionEnded;
    await session.end().catch(() => {});
    expect(await identityForToken(harness.db, token)).toBeUndefined();
    await waitFor(
      'the pending request cancelled',
      async () => (await pending.query(statusQuery)).status === 'CANCELLED',
    );
    await waitFor(
      'the JIT grant revoked',
      async () => (await granted.query(statusQuery)).status === 'REVOKED',
    );

    const target = state.systems.find((s) => s.systemId === 'target')!;
    expect(target.removed).toEqual(
      expect.arrayContaining([
        { login: login.a, role: roles.analyst, source: 'jit', requestId: expect.any(String) },
        { login: login.a, role: roles.reader, source: 'standing' },
      ]),
    );
    expect(target.sessionsTerminated).toBeGreaterThanOrEqual(1);
    expect(state.credentials).toEqual([
      expect.objectContaining({ credentialId: 'target/svc-a', status: 'ROTATED' }),
    ]);
    expect((await currentSecret('target/svc-a')).workflowId).toBe(state.credentials[0].workflowId);
    expect(state.requestsEnded.sort()).toEqual(
      [granted.workflowId, pending.workflowId].map((id) => id.slice(4)).sort(),
    );
    expect(state.timeToRevokeMs).toBeGreaterThan(0);
    for (const system of state.systems)
      expect(system.timeToRevokeMs).toBeLessThanOrEqual(state.timeToRevokeMs!);
  });

  test('refuses a restore from the identity, its owner, an outsider and the same approver twice', async () => {
    const approve = (actor: string) =>
      incident.executeUpdate(approveRestoreUpdate, { args: [{ actor }] });
    await expect(refusalOf(approve('svc-a'))).resolves.toMatch(/own restore/);
    await expect(refusalOf(approve('olivia'))).resolves.toMatch(/owns svc-a/);
    await expect(refusalOf(approve('bob'))).resolves.toMatch(/not a member of security/);
    const once = await approve('dana');
    expect(once.status).toBe(IncidentStatus.CONTAINED);
    await expect(refusalOf(approve('dana'))).resolves.toMatch(/already approved/);
    expect(await canLoginFlag('second', login.a)).toBe(false);
  });

  test('marks a system whose restore fails FAILED, restores the others, and stays alive for a retry', async () => {
    await superuserQuery(`DROP ROLE ${ident(roles.ledger)}`);
    const approved = await incident.executeUpdate(approveRestoreUpdate, {
      args: [{ actor: 'erin', reason: 'key revoked' }],
    });
    // The approval is answered once recorded, not once access is back.
    expect(approved.status).toBe(IncidentStatus.RESTORING);
    const stuck = await waitFor('the target restore failed', async () => {
      const state = await statusOf(incident);
      const target = state.systems.find((s) => s.systemId === 'target')!;
      const other = state.systems.find((s) => s.systemId === 'second')!;
      return target.status === 'FAILED' && other.status === 'RESTORED' && state;
    });
    expect(stuck.status).toBe(IncidentStatus.RESTORING);
    expect(stuck.systems.find((s) => s.systemId === 'target')!.lastError).toContain(roles.ledger);
    // The state changes before its audit event is written.
    await waitFor('the failure in the audit log', async () =>
      (await listAuditEvents(harness.db, { subject: 'svc-a' })).some(
        (e) => e.action === 'incident.system_restore_failed',
      ),
    );
    await expect(
      refusalOf(incident.executeUpdate(retryIncidentUpdate, { args: [{ actor: 'bob' }] })),
    ).resolves.toMatch(/may not retry incidents/);
  });

  test('restores memberships and logins with fresh credentials once the failed system is retried', async () => {
    await superuserQuery(`CREATE ROLE ${ident(roles.ledger)}`);
    const retried = await incident.executeUpdate(retryIncidentUpdate, {
      args: [{ actor: 'dana' }],
    });
    expect(retried.retries).toEqual([{ actor: 'dana', at: expect.any(String) }]);
    const state = await untilStatus(incident, IncidentStatus.RESTORED);
    expect(state.systems.map((s) => s.status)).toEqual(['RESTORED', 'RESTORED']);
    expect(await harness.isMember(roles.ledger, login.a)).toBe(true);
    for (const where of ['target', 'second'] as const) {
      expect(await memberOn(where, roles.reader, login.a)).toBe(true);
    }
    expect(await harness.isMember(roles.analyst, login.a)).toBe(false);
    // No credential rotates svc-a's login on the second system: it comes back without the
    // password it had, which the attacker may know.
    expect(await canLoginFlag('second', login.a)).toBe(true);
    expect(await logsIn(second.urlAs(login.a, PASSWORD))).toBe(false);
    const fresh = await currentSecret('target/svc-a');
    expect(fresh.workflowId).toContain('-restore');
    expect(await logsIn(targetUrlAs(login.a, fresh.secret))).toBe(true);
    expect(await logsIn(targetUrlAs(login.a, PASSWORD))).toBe(false);
    const actions = (await listAuditEvents(harness.db, { subject: 'svc-a' })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'incident.opened',
        'incident.contained',
        'incident.restore_approved',
        'incident.restored',
      ]),
    );
  });
});

describe('an incident with one system down', () => {
  let contained: WorkflowHandle<typeof incidentWorkflow>;

  test('contains the other at once, reads partially contained, and completes when the system returns', async () => {
    // A first rotation, so that the incident's rotation has a previous secret to retire.
    await harness.client.workflow.execute(rotationWorkflow, {
      workflowId: `rotation/target/svc-b/${uniqueName('first')}`,
      taskQueue: harness.taskQueue,
      args: [{ credentialId: 'target/svc-b' }],
    });
    await superuserQuery(`GRANT ${ident(roles.reader)} TO ${ident(alternating[0])}`);
    await second.stop();
    let incident: WorkflowHandle<typeof incidentWorkflow> | undefined;
    try {
      incident = await open('svc-b');
      const partial = await waitFor('the first system contained', async () => {
        const state = await statusOf(incident!);
        return state.systems.find((s) => s.systemId === 'target')?.status === 'CONTAINED' && state;
      });
      expect(partial.status).toBe(IncidentStatus.PARTIALLY_CONTAINED);
      expect(partial.systems.find((s) => s.systemId === 'second')?.status).toBe('PENDING');
      expect(await harness.isMember(roles.reader, login.b)).toBe(false);
      await waitFor('the alert', async () => (await statusOf(incident!)).alertedAt);
    } finally {
      await second.start();
    }
    const state = await untilStatus(incident!, IncidentStatus.CONTAINED, 120_000);
    const late = state.systems.find((s) => s.systemId === 'second')!;
    expect(late.timeToRevokeMs).toBe(state.timeToRevokeMs);
    expect(await memberOn('second', roles.reader, login.b)).toBe(false);
    expect(await canLoginFlag('second', login.b)).toBe(false);
    expect(state.credentials).toEqual([
      expect.objectContaining({ credentialId: 'target/svc-b', status: 'ROTATED' }),
    ]);
    for (const name of alternating) {
      expect(await canLoginFlag('target', name)).toBe(false);
      expect(await harness.isMember(roles.reader, name)).toBe(false);
    }
    contained = incident!;
  });

  test('skips a scheduled rotation of the quarantined credential and leaves its logins shut', async () => {
    const scheduled = await harness.client.workflow.execute(rotationWorkflow, {
      workflowId: `rotation/target/svc-b/${uniqueName('scheduled')}`,
      taskQueue: harness.taskQueue,
      args: [{ credentialId: 'target/svc-b' }],
    });
    expect(scheduled.step).toBe('skipped');
    expect(scheduled.skipped).toBe(
      `svc-b is quarantined by incident ${(await statusOf(contained)).incidentId}`,
    );
    for (const name of alternating) expect(await canLoginFlag('target', name)).toBe(false);
  });

  test('refuses a rotation that planned before the quarantine, and its rollback leaves the target alone', async () => {
    const activities = createRotationActivities({
      db: harness.db,
      connectors: harness.connectorRegistry,
      policy: () => harness.policy,
      cipher: createSecretCipher(harness.encryptionKey),
    });
    const env = new MockActivityEnvironment();
    const planned = (await env.run(activities.planRotation, {
      credentialId: 'target/svc-b',
      scheduledAt: new Date().toISOString(),
      incident: 'containment' as const,
    })) as PlanResult;
    if (planned.kind !== 'rotate') throw new Error(planned.reason);
    // As a scheduled run would have planned it a moment before the incident opened.
    const plan = { ...planned.plan, incident: undefined };
    const { versionId } = (await env.run(activities.createPendingVersion, {
      credentialId: 'target/svc-b',
      workflowId: `rotation/target/svc-b/${uniqueName('raced')}`,
      login: plan.login,
    })) as { versionId: string };
    await expect(env.run(activities.setOnTarget, { plan, versionId })).rejects.toThrow(
      /quarantined by incident/,
    );
    const rollback = (await env.run(activities.rollBack, {
      plan,
      versionId,
      workflowId: 'raced',
    })) as RollbackResult;
    expect(rollback.detail).toMatch(/left to incident/);
    for (const name of alternating) expect(await canLoginFlag('target', name)).toBe(false);
  });

  test('keeps the access removed when closed', async () => {
    const closing = await contained.executeUpdate(closeIncidentUpdate, {
      args: [{ actor: 'dana', reason: 'retired' }],
    });
    expect(closing.status).toBe(IncidentStatus.CLOSING);
    const closed = await untilStatus(contained, IncidentStatus.CLOSED);
    expect(closed.closeReason).toBe('retired');
    expect(await canLoginFlag('target', login.b)).toBe(false);
  });
});

describe('containment of one system', () => {
  test('remembers a login it disabled even when the attempt that disabled it died', async () => {
    const name = `${run}_crash`;
    await superuserQuery(`CREATE ROLE ${ident(name)} LOGIN PASSWORD '${PASSWORD}'`);
    try {
      const incidentId = randomUUID();
      await reserveIncident(harness.db, {
        id: incidentId,
        identity: `crash-${run}`,
        severity: 'high',
        reason: 'x',
        reportedBy: 'dana',
        reportedAt: new Date().toISOString(),
        workflowId: incidentWorkflowId(incidentId),
      });
      const real = harness.connectorRegistry;
      // The worker dies after the login is disabled, before the attempt could report anything.
      const dying: IncidentActivityDeps['connectors'] = {
        get: (id: string) => ({
          ...real.get(id),
          terminateSessions: () => Promise.reject(new Error('worker died')),
        }),
      };
      const activities = (connectors: IncidentActivityDeps['connectors']) =>
        createIncidentActivities({
          db: harness.db,
          connectors,
          workflows: harness.client.workflow,
        });
      const input = {
        incidentId,
        systemId: 'target',
        logins: [name],
        reportedAt: new Date().toISOString(),
      };
      await expect(
        new MockActivityEnvironment().run(activities(dying).containSystem, input),
      ).rejects.toThrow('worker died');
      expect(await canLoginFlag('target', name)).toBe(false);

      // A fresh attempt has no heartbeat to learn from; the database remembers.
      const again = (await new MockActivityEnvironment().run(
        activities(real).containSystem,
        input,
      )) as Contained;
      expect(again.disabledLogins).toEqual([name]);
      await new MockActivityEnvironment().run(activities(real).restoreSystem, {
        incidentId,
        systemId: 'target',
        disabledLogins: [],
      });
      expect(await canLoginFlag('target', name)).toBe(true);
    } finally {
      await superuserQuery(`DROP ROLE IF EXISTS ${ident(name)}`);
    }
  });
});
