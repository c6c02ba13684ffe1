import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { JitStatus } from '../../domain/jit';
import type { JitState } from '../../domain/jit';
import { listAuditEvents, verifyAuditChain } from '../../store/audit';
import { findGrant } from '../../store/grants';
import { decideUpdate, revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import { sweepWorkflow } from '../../workflows/sweep/workflow';
import { Client } from 'pg';
import { JitHarness } from '../support/jit-harness';
import { targetEntitlement, targetSystem } from '../support/policies';
import { testServers, uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// Names that only work when every identifier sent to the target is quoted.
const analyst = uniqueName('Analyst "Read"; DROP ROLE x');
const admin = uniqueName('admin');
const aliceLogin = uniqueName("zoë o'brien");

const harness = JitHarness.fromDocument({
  version: 1,
  settings: { approvalWindow: '8s' },
  identities: [
    { id: 'alice', logins: { target: aliceLogin } },
    { id: 'bob' },
    { id: 'carol' },
    { id: 'dana' },
    { id: 'mallory' },
  ],
  groups: [
    { id: 'approvers', members: ['bob', 'carol', 'alice'] },
    { id: 'security', members: ['dana'] },
  ],
  systems: [targetSystem],
  entitlements: [
    targetEntitlement('analyst', analyst),
    targetEntitlement('admin', admin, {
      riskTier: 'high',
      approval: { required: 2, from: ['approvers'] },
    }),
  ],
});

const request = (entitlementId = 'target/analyst', durationMs = 3_000) =>
  harness.request({
    requester: 'alice',
    entitlementId,
    durationMs,
    reason: 'investigate ticket 4411',
  });

async function statusOf(handle: Awaited<ReturnType<typeof request>>): Promise<JitState> {
  return handle.query(statusQuery);
}

async function decide(
  handle: Awaited<ReturnType<typeof request>>,
  actor: string,
  decision: 'approve' | 'deny',
  reason?: string,
) {
  return handle.executeUpdate(decideUpdate, { args: [{ actor, decision, reason }] });
}

async function rejection(promise: Promise<unknown>): Promise<{ type?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as { type?: string; message: string };
      return { type: cause.type, message: cause.message };
    }
    throw err;
  }
  throw new Error('expected the update to be rejected');
}

beforeAll(async () => {
  await harness.start();
  await harness.createRoles({ name: analyst }, { name: admin }, { name: aliceLogin, login: true });
});

afterAll(() => harness.stop());

describe('JIT elevation', () => {
  test('grants the role on approval and revokes it at expiry', async () => {
    const handle = await request();
    expect((await statusOf(handle)).status).toBe(JitStatus.PENDING);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);

    const afterApproval = await decide(handle, 'bob', 'approve');
    expect(afterApproval.approvals.map((a) => a.approver)).toEqual(['bob']);
    await waitFor('the grant', () => harness.isMember(analyst, aliceLogin));
    const granted = await statusOf(handle);
    expect(granted.status).toBe(JitStatus.GRANTED);
    expect(Date.parse(granted.expiresAt!) - Date.parse(granted.grantedAt!)).toBe(3_000);

    const final = await handle.result();
    expect(final.status).toBe(JitStatus.REVOKED);
    expect(final.revokeCause).toBe('expired');
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);

    const actions = (await listAuditEvents(harness.db, { subject: final.requestId })).map(
      (e) => e.action,
    );
    expect(actions).toEqual([
      'request.created',
      'request.approved',
      'grant.granted',
      'grant.revoked',
    ]);
    const grantedEvent = (await listAuditEvents(harness.db, { subject: final.requestId }))[2];
    expect(grantedEvent.approvalPath.map((a) => a.approver)).toEqual(['bob']);
    expect((await verifyAuditChain(harness.db)).ok).toBe(true);
  });

  test('ends with nothing granted when an approver denies', async () => {
    const handle = await request();
    const denied = await decide(handle, 'carol', 'deny', 'not during the freeze');
    expect(denied.status).toBe(JitStatus.DENIED);
    expect(denied.denial).toMatchObject({ approver: 'carol', reason: 'not during the freeze' });
    expect((await handle.result()).status).toBe(JitStatus.DENIED);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    expect(await findGrant(harness.db, denied.requestId)).toBeUndefined();
  });

  test('expires when nobody decides within the approval window', async () => {
    const handle = await request();
    const final = await handle.result();
    expect(final.status).toBe(JitStatus.EXPIRED);
    expect(await findGrant(harness.db, final.requestId)).toBeUndefined();
    await expect(decide(handle, 'bob', 'approve')).rejects.toThrow();
  });

  test('waits for two distinct approvers when the entitlement needs two', async () => {
    const handle = await request('target/admin', 60_000);
    await decide(handle, 'bob', 'approve');
    expect((await statusOf(handle)).status).toBe(JitStatus.PENDING);
    expect(await rejection(decide(handle, 'bob', 'approve'))).toMatchObject({
      type: 'DuplicateDecision',
    });
    expect(await harness.isMember(admin, aliceLogin)).toBe(false);

    await decide(handle, 'carol', 'approve');
    await waitFor('the grant', () => harness.isMember(admin, aliceLogin));
    const revoked = await handle.executeUpdate(revokeUpdate, {
      args: [{ actor: 'alice', reason: 'done early' }],
    });
    expect(revoked.status).toBe(JitStatus.REVOKED);
    expect(revoked.revokeCause).toBe('revoked');
    expect(await harness.isMember(admin, aliceLogin)).toBe(false);
    expect((await handle.result()).approvals.map((a) => a.approver)).toEqual(['bob', 'carol']);
  });

  test('refuses self-approval, outsiders and decisions after the request was decided', async () => {
    const handle = await request('target/analyst', 60_000);
    expect(await rejection(decide(handle, 'alice', 'approve'))).toEqual({
      type: 'NotAllowed',
      message: 'alice cannot decide their own request',
    });
    expect(await rejection(decide(handle, 'mallory', 'approve'))).toMatchObject({
      type: 'NotAllowed',
      message: expect.stringContaining('mallory is not an approver for target/analyst'),
    });
    expect(await rejection(decide(handle, 'carol', 'deny'))).toMatchObject({
      type: 'InvalidInput',
    });
    expect((await statusOf(handle)).approvals).toEqual([]);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);

    await decide(handle, 'bob', 'approve');
    expect(await rejection(decide(handle, 'carol', 'deny', 'too late'))).toMatchObject({
      type: 'AlreadyDecided',
    });
    expect(
      await rejection(handle.executeUpdate(revokeUpdate, { args: [{ actor: 'mallory' }] })),
    ).toMatchObject({
      type: 'NotAllowed',
    });
    await handle.executeUpdate(revokeUpdate, { args: [{ actor: 'dana' }] });
    const final = await handle.result();
    expect(final).toMatchObject({ status: JitStatus.REVOKED, revokedBy: 'dana' });
  });

  test('fails without granting when the duration is over the maximum or the entitlement is unknown', async () => {
    for (const [entitlementId, durationMs, type] of [
      ['target/analyst', 2 * 3_600_000, 'PolicyViolation'],
      ['target/nothing', 1_000, 'InvalidInput'],
    ] as const) {
      const handle = await request(entitlementId, durationMs);
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type });
    }
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
  });

  test('revokes what was granted when the workflow is cancelled', async () => {
    const handle = await request('target/analyst', 60_000);
    await decide(handle, 'bob', 'approve');
    await waitFor('the grant', () => harness.isMember(analyst, aliceLogin));
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    const grant = await findGrant(harness.db, (await statusOf(handle)).requestId);
    expect(grant).toMatchObject({ revokeCause: 'cancelled' });
  });

  test('revokes the grant when a cancellation arrives while the grant is still being made', async () => {
    // Hold the catalog so the GRANT waits; the cancellation lands while the grant is in flight.
    const blocker = new Client({ connectionString: testServers().pgUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE pg_auth_members IN SHARE MODE');
    try {
      const handle = await request('target/analyst', 60_000);
      const approval = decide(handle, 'bob', 'approve').catch(() => undefined);
      await waitFor('the grant to start', async () =>
        (await handle.fetchHistory()).events!.some(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'grantAccess',
        ),
      );
      await handle.cancel();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await blocker.query('ROLLBACK');
      await expect(handle.result()).rejects.toThrow();
      await approval;
      expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
      const grant = await findGrant(harness.db, (await statusOf(handle)).requestId);
      expect(grant).toMatchObject({ revokeCause: 'cancelled' });
    } finally {
      await blocker.end();
    }
  });

  test('sweeps up a grant whose workflow was terminated, once its expiry has passed', async () => {
    const handle = await request('target/analyst', 60_000);
    await decide(handle, 'bob', 'approve');
    const { requestId } = await statusOf(handle);
    await handle.terminate('operator error');
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);

    // Nothing is swept before the expiry (and a grace period) has passed.
    const early = await harness.client.workflow.execute(sweepWorkflow, {
      workflowId: uniqueName('sweep'),
      taskQueue: harness.taskQueue,
    });
    expect(early.revoked).not.toContain(requestId);
    await harness.db
      .updateTable('grants')
      .set({ expires_at: new Date(Date.now() - 600_000) })
      .where('request_id', '=', requestId)
      .execute();

    const sweep = await harness.client.workflow.execute(sweepWorkflow, {
      workflowId: uniqueName('sweep'),
      taskQueue: harness.taskQueue,
    });
    expect(sweep.revoked).toContain(requestId);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    expect(await findGrant(harness.db, requestId)).toMatchObject({
      revokeCause: 'orphaned',
      revokedBy: 'keyward',
    });
    const last = (await listAuditEvents(harness.db, { subject: requestId })).at(-1);
    expect(last).toMatchObject({ action: 'grant.revoked', details: { cause: 'orphaned' } });
  });

  test('reports, and leaves to its workflow, a grant long past expiry whose workflow still runs', async () => {
    const handle = await request('target/analyst', 600_000);
    await decide(handle, 'bob', 'approve');
    const { requestId } = await statusOf(handle);
    const longAgo = new Date(Date.now() - 3_600_000);
    await harness.db
      .updateTable('grants')
      .set({ expires_at: longAgo })
      .where('request_id', '=', requestId)
      .execute();

    const sweep = await harness.client.workflow.execute(sweepWorkflow, {
      workflowId: uniqueName('sweep'),
      taskQueue: harness.taskQueue,
    });
    expect(sweep.stuck).toContain(requestId);
    expect(sweep.revoked).not.toContain(requestId);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);
    const events = await listAuditEvents(harness.db, { subject: requestId });
    expect(events.map((e) => e.action)).toContain('grant.overdue');

    await handle.executeUpdate(revokeUpdate, { args: [{ actor: 'alice' }] });
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
  });

  test('revokes a grant whose expiry passed while the worker was down, and records how late', async () => {
    const handle = await request('target/analyst', 2_000);
    await decide(handle, 'bob', 'approve');
    await waitFor('the grant', () => harness.isMember(analyst, aliceLogin));
    await harness.stopWorker();

    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);
    await harness.startWorker();

    const final = await handle.result();
    expect(final.status).toBe(JitStatus.REVOKED);
    expect(final.revokeLatenessMs).toBeGreaterThanOrEqual(1_000);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    const revoked = (await listAuditEvents(harness.db, { subject: final.requestId })).at(-1)!;
    expect(revoked).toMatchObject({
      action: 'grant.revoked',
      details: { latenessMs: final.revokeLatenessMs },
    });
  });
});
