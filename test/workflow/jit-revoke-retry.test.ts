import {
  CancelledFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { JitStatus } from '../../domain/jit';
import type { JitState, RevokeRetry } from '../../domain/jit';
import { listAuditEvents, verifyAuditChain } from '../../store/audit';
import { findGrant } from '../../store/grants';
import { revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import { JitHarness } from '../support/jit-harness';
import { RefusingLogin } from '../support/refusing-login';
import { uniqueName } from '../support/servers';
import { waitFor } from '../support/wait';

// The target system connects as a login that can be made to refuse every call, so a grant's
// revocation fails for as long as the test wants, the way a target whose grants changed does.
const LIMITED_ENV = 'KEYWARD_TEST_LIMITED_URL';
const analyst = uniqueName('kw_analyst');
const aliceLogin = uniqueName('kw_alice');
const limited = new RefusingLogin();

// Tries a few hundred milliseconds apart, and a history budget a few tries past the grant's.
const FAST: Partial<RevokeRetry> = { firstMs: 100, longestMs: 200, historyBudget: 80 };

let harness: JitHarness;

beforeAll(async () => {
  harness = JitHarness.fromDocument(
    {
      version: 1,
      settings: { adminGroup: 'security' },
      identities: [{ id: 'alice', logins: { limited: aliceLogin } }, { id: 'dana' }],
      groups: [{ id: 'security', members: ['dana'] }],
      systems: [{ id: 'limited', type: 'postgres', connection: `env:${LIMITED_ENV}` }],
      entitlements: [
        {
          id: 'limited/analyst',
          system: 'limited',
          role: analyst,
          riskTier: 'low',
          maxDuration: '1h',
          approval: { required: 0, from: [] },
        },
      ],
    },
    { encrypt: true, env: { [LIMITED_ENV]: limited.url } },
  );
  await harness.start();
  await harness.createRoles({ name: analyst }, { name: aliceLogin, login: true });
  await limited.create([analyst]);
});

afterAll(async () => {
  await harness?.stop();
  await limited.drop();
});

type Handle = WorkflowHandleWithFirstExecutionRunId;

const request = (durationMs: number, revokeRetry: Partial<RevokeRetry> = FAST) =>
  harness.request({
    requester: 'alice',
    entitlementId: 'limited/analyst',
    durationMs,
    reason: 'x',
    revokeRetry,
  });

/** Every run of the workflow so far, first to last, with the number of events in each history. */
async function runsOf(handle: Handle): Promise<{ runId: string; events: number }[]> {
  const runs: { runId: string; events: number }[] = [];
  for (let runId = handle.firstExecutionRunId; runId;) {
    const events =
      (await harness.client.workflow.getHandle(handle.workflowId, runId).fetchHistory()).events ??
      [];
    runs.push({ runId, events: events.length });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? '';
  }
  return runs;
}

const atLeastRuns = (handle: Handle, count: number) =>
  waitFor(
    `${count} runs`,
    async () => (await runsOf(handle)).length >= count && runsOf(handle),
    60_000,
  );

async function refusal(update: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowUpdateFailedError))
    throw new Error('expected the update to be refused');
  const { type, message } = err.cause as { type?: string; message: string };
  return { type, message };
}

async function granted(handle: Handle): Promise<JitState> {
  return waitFor('the grant', async () => {
    const state = await handle.query(statusQuery);
    return state.status === JitStatus.GRANTED && state;
  });
}

describe('a revocation the target keeps refusing', () => {
  afterEach(() => limited.recover());

  test('continues as new while retrying, answers queries throughout, revokes once the target is back', async () => {
    const handle = await request(1_500);
    const grant = await granted(handle);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);
    await limited.refuse();

    const runs = await atLeastRuns(handle, 3);
    // Each run but the one still going handed over within a try of its budget.
    for (const run of runs.slice(0, -1)) expect(run.events).toBeLessThan(FAST.historyBudget! + 20);
    const failing = await handle.query(statusQuery);
    expect(failing).toMatchObject({
      status: JitStatus.REVOKE_FAILED,
      requestId: grant.requestId,
      grantedAt: grant.grantedAt,
      expiresAt: grant.expiresAt,
      plan: grant.plan,
      failure: expect.stringContaining('not permitted to log in'),
    });
    // The updates are refused in a later run just as the rules refuse them in the first.
    expect(
      await refusal(handle.executeUpdate(revokeUpdate, { args: [{ actor: 'alice' }] })),
    ).toEqual({
      type: 'AlreadyDecided',
      message: `request ${grant.requestId} is already revoke_failed`,
    });
    expect(await harness.isMember(analyst, aliceLogin)).toBe(true);

    const lateAtRecovery = Date.now() - Date.parse(grant.expiresAt!);
    await limited.recover();
    const final = await handle.result();
    expect(final).toMatchObject({
      status: JitStatus.REVOKED,
      revokeCause: 'expired',
      revokedBy: 'keyward',
    });
    expect(final.failure).toBeUndefined();
    expect(final.revokeLatenessMs).toBeGreaterThanOrEqual(lateAtRecovery);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    expect((await handle.query(statusQuery)).status).toBe(JitStatus.REVOKED);

    // One story in the audit log, however many runs told it: the failure once, then the revocation.
    const events = await listAuditEvents(harness.db, { subject: grant.requestId });
    expect(events.map((e) => e.action)).toEqual([
      'request.created',
      'grant.granted',
      'grant.revoke_failed',
      'grant.revoked',
    ]);
    expect(await findGrant(harness.db, grant.requestId)).toMatchObject({ revokeCause: 'expired' });
    expect((await verifyAuditChain(harness.db)).ok).toBe(true);
  });

  test('keeps who ended the request early, why and since when, across runs', async () => {
    const handle = await request(600_000);
    const grant = await granted(handle);
    await limited.refuse();
    const askedAt = Date.now();
    const answer = await handle.executeUpdate(revokeUpdate, {
      args: [{ actor: 'alice', reason: 'done early' }],
    });
    expect(answer.status).toBe(JitStatus.REVOKE_FAILED);

    await atLeastRuns(handle, 3);
    const refusedFor = Date.now() - askedAt;
    await limited.recover();
    const final = await handle.result();
    expect(final).toMatchObject({
      status: JitStatus.REVOKED,
      revokeCause: 'revoked',
      revokedBy: 'alice',
    });
    // Lateness counts from the moment alice asked, not from the start of the run that succeeded.
    expect(final.revokeLatenessMs).toBeGreaterThan(refusedFor - 1_000);
    const last = (await listAuditEvents(harness.db, { subject: grant.requestId })).at(-1);
    expect(last).toMatchObject({
      action: 'grant.revoked',
      actor: 'alice',
      details: { reason: 'done early' },
    });
  });

  test('ends as cancelled once access is gone, when the run that was cancelled handed over', async () => {
    const handle = await request(600_000);
    const grant = await granted(handle);
    await limited.refuse();
    await handle.cancel();

    await atLeastRuns(handle, 2);
    await limited.recover();
    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
    expect(await findGrant(harness.db, grant.requestId)).toMatchObject({
      revokeCause: 'cancelled',
    });
  });
});

test('refuses to start with a retry pace that would spin or outgrow a history', async () => {
  for (const [revokeRetry, message] of [
    [{ firstMs: 0 }, 'revokeRetry.firstMs must be a positive whole number'],
    [
      { firstMs: 5_000, longestMs: 1_000 },
      'revokeRetry.longestMs must not be shorter than revokeRetry.firstMs',
    ],
    [{ historyBudget: 50_000 }, 'revokeRetry.historyBudget must be at most 10000'],
  ] as const) {
    const failure = await (await request(1_000, revokeRetry)).result().catch((err: unknown) => err);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'InvalidInput', message });
  }
  expect(await harness.isMember(analyst, aliceLogin)).toBe(false);
});
