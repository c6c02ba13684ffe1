import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
} from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { Client } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { createRotationActivities } from '../../activities/rotation';
import type { Credential, PolicyInput } from '../../domain/policy';
import { RotationStep } from '../../domain/rotation';
import type { RotationState } from '../../domain/rotation';
import { LinkSigner } from '../../integrations/email/links';
import { createMailer } from '../../integrations/email/mailer';
import { createSecretCipher } from '../../integrations/secrets/cipher';
import { AesGcmPayloadCodec } from '../../integrations/temporal/codec';
import { syncRotationSchedules } from '../../integrations/temporal/schedules';
import { verifyWebhookSignature } from '../../integrations/webhooks/signature';
import { listAuditEvents, verifyAuditChain } from '../../store/audit';
import {
  findVersion,
  sealContext,
  versionsOf,
  versionWithLabel,
} from '../../store/credential-versions';
import { findCredential } from '../../store/credentials';
import { syncRotations } from '../../workers/rotation-sync';
import { rotationStatusQuery } from '../../workflows/rotation/definitions';
import { rotationWorkflow } from '../../workflows/rotation/workflow';
import { ident, JitHarness } from '../support/jit-harness';
import { targetSystem } from '../support/policies';
import { superuserQuery, uniqueName } from '../support/servers';
import { TestSmtpServer } from '../support/smtp';
import { waitFor } from '../support/wait';

// Logins are cluster-wide, so each run of this file names its own.
const run = uniqueName('rot');
const logins = {
  single: `${run}_single`,
  alt: [`${run}_alt_a`, `${run}_alt_b`] as [string, string],
  broken: [`${run}_broken_a`, `${run}_broken_b`] as [string, string],
  guarded: `${run}_guarded`,
  crash: `${run}_crash`,
  twice: [`${run}_twice_a`, `${run}_twice_b`] as [string, string],
};
const reader = `${run}_reader`;
const WEBHOOK_SECRET_ENV = 'KEYWARD_TEST_ROTATION_WEBHOOK_SECRET';
process.env[WEBHOOK_SECRET_ENV] = 'webhook-key-for-tests';

const smtp = new TestSmtpServer();
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
let hookServer: Server;
let hookUrl = '';

const nonHuman = (id: string, login?: string) => ({
  id,
  kind: 'non-human' as const,
  owner: 'olivia',
  ...(login && { logins: { target: login } }),
});

function policy(): PolicyInput {
  return {
    version: 1,
    identities: [
      { id: 'olivia', email: 'olivia@example.test' },
      nonHuman('svc-single', logins.single),
      nonHuman('svc-alt'),
      nonHuman('svc-broken'),
      nonHuman('svc-guarded', logins.guarded),
      nonHuman('svc-crash', logins.crash),
      nonHuman('svc-twice'),
    ],
    groups: [{ id: 'security', members: ['olivia'] }],
    systems: [targetSystem],
    credentials: [
      {
        id: 'target/single',
        identity: 'svc-single',
        system: 'target',
        strategy: 'single-login',
        every: '30d',
        webhooks: [{ url: hookUrl, secret: `env:${WEBHOOK_SECRET_ENV}` }],
      },
      {
        id: 'target/alt',
        identity: 'svc-alt',
        system: 'target',
        strategy: 'alternating-logins',
        logins: logins.alt,
        every: '7d',
        overlap: '5s',
      },
      {
        id: 'target/broken',
        identity: 'svc-broken',
        system: 'target',
        strategy: 'alternating-logins',
        logins: logins.broken,
        every: '7d',
        overlap: '1s',
      },
      {
        id: 'target/guarded',
        identity: 'svc-guarded',
        system: 'target',
        strategy: 'single-login',
        every: '30d',
      },
      {
        id: 'target/crash',
        identity: 'svc-crash',
        system: 'target',
        strategy: 'single-login',
        every: '30d',
      },
      {
        id: 'target/twice',
        identity: 'svc-twice',
        system: 'target',
        strategy: 'alternating-logins',
        logins: logins.twice,
        every: '7d',
        overlap: '4s',
      },
    ],
  };
}

let harness: JitHarness;
let scheduled: JitHarness;
/** Every secret value the tests saw; none may appear in any history. */
const seen = new Set<string>();
/** The harness and id of every rotation run, for the history check at the end. */
const runs: { harness: JitHarness; workflowId: string }[] = [];

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/rotated`;
  await smtp.start();

  harness = JitHarness.fromDocument(policy());
  harness.channels = mailChannel(harness);
  await harness.start();
  scheduled = JitHarness.fromDocument(policy(), {
    encrypt: true,
    namespace: uniqueName('keyward-rotation'),
  });
  await scheduled.start();

  await harness.createRoles(
    { name: logins.single, login: true },
    { name: logins.guarded, login: true },
    { name: logins.crash, login: true },
    ...[...logins.alt, ...logins.broken, ...logins.twice, reader].map((name) => ({ name })),
  );
  // The second broken login may not connect to the target: its test step must fail.
  const database = targetDatabase(harness);
  await superuserQuery(`REVOKE CONNECT ON DATABASE ${ident(database)} FROM PUBLIC`);
  const allowed = [
    logins.single,
    logins.guarded,
    logins.crash,
    ...logins.alt,
    logins.broken[0],
    ...logins.twice,
  ];
  await superuserQuery(
    `GRANT CONNECT ON DATABASE ${ident(database)} TO ${allowed.map(ident).join(', ')}`,
  );
});

afterAll(async () => {
  // Roles with privileges on a database cannot be dropped: give CONNECT back to everyone first.
  if (harness?.targetUrl) {
    const database = ident(targetDatabase(harness));
    await superuserQuery(
      `REVOKE ALL ON DATABASE ${database} FROM ${Object.values(logins).flat().map(ident).join(', ')}`,
    );
    await superuserQuery(`GRANT CONNECT ON DATABASE ${database} TO PUBLIC`);
  }
  await harness?.stop();
  await scheduled?.stop();
  await smtp.stop();
  await new Promise((resolve) => hookServer?.close(resolve));
  delete process.env[WEBHOOK_SECRET_ENV];
});

function mailChannel(h: JitHarness) {
  return {
    mail: {
      mailer: createMailer({ from: 'keyward <keyward@example.test>', smtpUrl: smtp.url }),
      links: new LinkSigner(h.encryptionKey),
      publicUrl: 'http://127.0.0.1:9',
    },
  };
}

function targetDatabase(h: JitHarness): string {
  return parseIntoClientConfig(h.targetUrl).database!;
}

async function rotate(credentialId: string, h = harness): Promise<RotationState> {
  const workflowId = `rotation/${credentialId}-${uniqueName('test')}`;
  runs.push({ harness: h, workflowId });
  const state = await h.client.workflow.execute(rotationWorkflow, {
    workflowId,
    taskQueue: h.taskQueue,
    args: [{ credentialId }],
  });
  await remember(credentialId, h);
  return state;
}

/** Starts a rotation without waiting for it. */
async function startRotation(credentialId: string, h = harness) {
  const workflowId = `rotation/${credentialId}-${uniqueName('test')}`;
  runs.push({ harness: h, workflowId });
  return h.client.workflow.start(rotationWorkflow, {
    workflowId,
    taskQueue: h.taskQueue,
    args: [{ credentialId }],
  });
}

/** The value of the credential's version under `label`, remembered for the history check. */
async function secretOf(
  credentialId: string,
  label: 'current' | 'previous' = 'current',
  h = harness,
) {
  const info = await versionWithLabel(h.db, credentialId, label);
  if (!info) return undefined;
  const version = (await findVersion(h.db, info.id))!;
  const secret = createSecretCipher(h.encryptionKey).open(
    version.sealed!,
    sealContext(credentialId, version.id),
  );
  seen.add(secret);
  return { secret, login: version.login, versionId: version.id };
}

async function remember(credentialId: string, h = harness): Promise<void> {
  await secretOf(credentialId, 'current', h);
  await secretOf(credentialId, 'previous', h);
}

async function connectAs(login: string, password: string, h = harness): Promise<Client> {
  const client = new Client({ ...parseIntoClientConfig(h.targetUrl), user: login, password });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function canLogIn(login: string, password: string, h = harness): Promise<boolean> {
  try {
    const client = await connectAs(login, password, h);
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function membershipsOf(login: string): Promise<string[]> {
  const { rows } = await superuserQuery(
    `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
      JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1`,
    [login],
  );
  return rows.map((row: { rolname: string }) => row.rolname);
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      // An activity's failure arrives wrapped: read down to the reason.
      const messages: string[] = [];
      for (let cause = err.cause; cause; cause = cause.cause as typeof cause)
        messages.push(cause.message);
      return messages.join(': ');
    }
    throw err;
  }
  throw new Error('expected the rotation to fail');
}

describe('single-login rotation', () => {
  test('replaces the password: the old one is refused, the new one works, open sessions go on', async () => {
    const first = await rotate('target/single');
    expect(first.step).toBe(RotationStep.DONE);
    const before = (await secretOf('target/single'))!;
    expect(before.login).toBe(logins.single);
    expect(await canLogIn(logins.single, before.secret)).toBe(true);
    const session = await connectAs(logins.single, before.secret);

    try {
      const second = await rotate('target/single');
      expect(second.step).toBe(RotationStep.DONE);
      expect(second.previousVersionId).toBe(before.versionId);
      const after = (await secretOf('target/single'))!;
      expect(after.secret).not.toBe(before.secret);
      expect(after.secret).toMatch(/^[A-Za-z0-9]{32}$/);

      expect(await canLogIn(logins.single, before.secret)).toBe(false);
      expect(await canLogIn(logins.single, after.secret)).toBe(true);
      expect((await session.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await session.end();
    }

    // keyward sent the server a SCRAM verifier, never the password.
    const { rows } = await superuserQuery('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      logins.single,
    ]);
    expect(rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    // A single login has no overlap: the replaced version is retired and its value erased at once.
    const retired = (await findVersion(
      harness.db,
      (await versionsOf(harness.db, 'target/single'))[0].id,
    ))!;
    expect(retired).toMatchObject({ label: 'retired', sealed: null });
    const actions = (await listAuditEvents(harness.db, { subject: 'target/single' })).map(
      (e) => e.action,
    );
    expect(actions).toEqual(['credential.rotated', 'credential.rotated', 'credential.retired']);
    expect((await verifyAuditChain(harness.db)).ok).toBe(true);
  });

  test("calls the consumers' webhooks with a signed event that carries no secret", async () => {
    await waitFor('two webhook calls', () => hooks.length >= 2);
    for (const { headers, body } of hooks) {
      const timestamp = Number(headers['keyward-timestamp']);
      expect(
        verifyWebhookSignature(
          'webhook-key-for-tests',
          timestamp,
          body,
          String(headers['keyward-signature']),
        ),
      ).toBe(true);
      expect(JSON.parse(body)).toMatchObject({
        type: 'credential.rotated',
        credentialId: 'target/single',
      });
      for (const secret of seen) expect(body).not.toContain(secret);
    }
  });

  test('tells the owner of each rotation by email', async () => {
    const mails = await waitFor('the notices', () => {
      const found = smtp
        .to('olivia@example.test')
        .filter((m) => m.parsed.subject === 'keyward rotated target/single');
      return found.length >= 2 && found;
    });
    for (const mail of mails) for (const secret of seen) expect(mail.raw).not.toContain(secret);
  });
});

describe('alternating-logins rotation', () => {
  test('keeps both secrets working through the overlap window, then only the current one', async () => {
    await rotate('target/alt');
    const first = (await secretOf('target/alt'))!;
    expect(first.login).toBe(logins.alt[0]);
    await superuserQuery(`GRANT ${ident(reader)} TO ${ident(logins.alt[0])}`);

    const handle = await startRotation('target/alt');
    await waitFor(
      'the overlap window',
      async () => (await handle.query(rotationStatusQuery)).step === 'overlap',
    );
    const second = (await secretOf('target/alt'))!;
    await remember('target/alt');
    expect(second.login).toBe(logins.alt[1]);
    expect(await canLogIn(logins.alt[0], first.secret)).toBe(true);
    expect(await canLogIn(logins.alt[1], second.secret)).toBe(true);
    expect(await membershipsOf(logins.alt[1])).toEqual(await membershipsOf(logins.alt[0]));
    expect(await membershipsOf(logins.alt[1])).toEqual([reader]);

    const final = await handle.result();
    expect(final.step).toBe(RotationStep.DONE);
    expect(await canLogIn(logins.alt[0], first.secret)).toBe(false);
    expect(await canLogIn(logins.alt[1], second.secret)).toBe(true);

    // The next rotation moves back to the first login, with a new password.
    await rotate('target/alt');
    const third = (await secretOf('target/alt'))!;
    expect(third.login).toBe(logins.alt[0]);
    expect(third.secret).not.toBe(first.secret);
    expect(await canLogIn(logins.alt[0], third.secret)).toBe(true);
  });
});

describe('a rotation that fails', () => {
  test('whose new login cannot log in rolls back, alerts the owner and fails with the reason', async () => {
    await rotate('target/broken');
    const before = (await secretOf('target/broken'))!;
    expect(before.login).toBe(logins.broken[0]);

    const message = await failureOf(rotate('target/broken'));
    expect(message).toContain('rotation of target/broken failed while testing');
    expect(message).toContain(`log in as ${logins.broken[1]}`);
    expect(message).toContain('previous secret: back in place and working');
    // Temporal keeps that text encrypted: the history as stored names neither the step nor the login.
    const stored = JSON.stringify(
      await harness.client.workflow.getHandle(runs.at(-1)!.workflowId).fetchHistory(),
    );
    expect(stored).toContain('Encoded failure');
    expect(stored).not.toContain('failed while testing');
    expect(stored).not.toContain(logins.broken[1]);

    expect(await canLogIn(logins.broken[0], before.secret)).toBe(true);
    expect((await secretOf('target/broken'))!.versionId).toBe(before.versionId);
    const { rows } = await superuserQuery('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [
      logins.broken[1],
    ]);
    expect(rows[0].rolcanlogin).toBe(false);
    const failed = (await versionsOf(harness.db, 'target/broken')).find(
      (v) => v.label === 'failed',
    );
    expect(failed).toBeDefined();
    expect((await findVersion(harness.db, failed!.id))!.sealed).toBeNull();
    expect(await findCredential(harness.db, 'target/broken')).toMatchObject({
      last_status: 'failed',
    });

    const alert = await waitFor('the alert', () =>
      smtp
        .to('olivia@example.test')
        .find((m) => m.parsed.subject === 'keyward could not rotate target/broken'),
    );
    expect(alert.parsed.text).toContain('back in place and working');
    const events = await listAuditEvents(harness.db, { subject: 'target/broken' });
    expect(events.map((e) => e.action)).toContain('credential.rotation_failed');
  });

  test('on a single login puts the previous password back when the target refuses the new one', async () => {
    await rotate('target/guarded');
    const before = (await secretOf('target/guarded'))!;
    // The target refuses the next login of this role, whatever its password: the test step.
    const database = targetDatabase(harness);
    await superuserQuery(`CREATE SEQUENCE guard_logins`, [], database);
    await superuserQuery(
      `CREATE FUNCTION refuse_first_login() RETURNS event_trigger SECURITY DEFINER LANGUAGE plpgsql AS $$
       BEGIN
         IF session_user = '${logins.guarded}' THEN
           IF nextval('guard_logins') = 1 THEN RAISE EXCEPTION 'login refused by the target'; END IF;
         END IF;
       END $$`,
      [],
      database,
    );
    await superuserQuery(
      'CREATE EVENT TRIGGER refuse_first_login ON login EXECUTE FUNCTION refuse_first_login()',
      [],
      database,
    );
    try {
      const message = await failureOf(rotate('target/guarded'));
      expect(message).toContain('failed while testing');
      expect(message).toContain('login refused by the target');
      expect(message).toContain('back in place and working');
      expect(await canLogIn(logins.guarded, before.secret)).toBe(true);
    } finally {
      await superuserQuery('DROP EVENT TRIGGER refuse_first_login', [], database);
    }
  });
});

describe('a worker that dies between setting the secret and promoting it', () => {
  test('is replaced and the run finishes with the secret it generated', async () => {
    await rotate('target/crash');
    const before = (await secretOf('target/crash'))!;

    await harness.stopWorker();
    let reachedPromote!: () => void;
    const atPromote = new Promise<void>((resolve) => (reachedPromote = resolve));
    const activities = createRotationActivities({
      db: harness.db,
      connectors: harness.connectorRegistry,
      policy: () => harness.policy,
      cipher: createSecretCipher(harness.encryptionKey),
    });
    await harness.startWorkerWith({
      ...activities,
      promoteVersion: async () => {
        reachedPromote();
        // Stuck until the worker goes away.
        await Context.current().cancelled;
      },
    });
    const handle = await startRotation('target/crash');
    try {
      await atPromote;
      // The target has the new password; the store still has it as pending.
      expect(await canLogIn(logins.crash, before.secret)).toBe(false);
      const pending = await versionWithLabel(harness.db, 'target/crash', 'pending');
      expect(pending?.set_at).not.toBeNull();
    } finally {
      await harness.stopWorker();
      await harness.startWorker();
    }

    const final = await handle.result();
    expect(final.step).toBe(RotationStep.DONE);
    const after = (await secretOf('target/crash'))!;
    expect(after.versionId).toBe(final.versionId);
    expect(await canLogIn(logins.crash, after.secret)).toBe(true);
    const ofThisRun = (await versionsOf(harness.db, 'target/crash')).filter(
      (v) => v.workflow_id === handle.workflowId,
    );
    expect(ofThisRun).toHaveLength(1);
  });
});

describe('planning', () => {
  test('skips a run that was due before the last rotation, so downtime leads to one rotation', async () => {
    const activities = createRotationActivities({
      db: harness.db,
      connectors: harness.connectorRegistry,
      policy: () => harness.policy,
      cipher: createSecretCipher(harness.encryptionKey),
    });
    const rotatedAt = (await findCredential(harness.db, 'target/single'))!.last_rotated_at!;
    const missed = await activities.planRotation({
      credentialId: 'target/single',
      scheduledAt: new Date(rotatedAt.getTime() - 60_000).toISOString(),
    });
    expect(missed).toMatchObject({ kind: 'skip' });
    const due = await activities.planRotation({
      credentialId: 'target/single',
      scheduledAt: new Date(rotatedAt.getTime() - 999).toISOString(),
    });
    expect(due).toMatchObject({
      kind: 'rotate',
      plan: { login: logins.single, strategy: 'single-login' },
    });
  });

  test('refuses a credential that is not in the policy', async () => {
    await expect(failureOf(rotate('target/unknown'))).resolves.toContain(
      'credential target/unknown is not in the policy',
    );
  });
});

describe('rotation schedules', () => {
  const credentials = () => scheduled.policy.policy.credentials;
  const byId = (id: string) => credentials().find((c) => c.id === id)!;

  test('match the policy after a sync that adds, changes and removes credentials', async () => {
    const client = scheduled.client;
    const options = { taskQueue: scheduled.taskQueue };
    const first = await syncRotationSchedules(
      client,
      [byId('target/single'), byId('target/alt')],
      options,
    );
    expect(first.created.sort()).toEqual(['rotation/target/alt', 'rotation/target/single']);

    const changed: Credential = { ...byId('target/single'), every: undefined, cron: '0 3 * * 1' };
    const second = await waitFor('the listing to show both', async () => {
      const result = await syncRotationSchedules(client, [changed, byId('target/crash')], options);
      // Listing lags behind creation; sync again until the removed one has been seen and deleted.
      return result.deleted.length > 0 || (await exists('rotation/target/alt')) === false
        ? result
        : undefined;
    });
    expect(second.created).toEqual(['rotation/target/crash']);
    expect(second.updated).toEqual(['rotation/target/single']);
    expect(await exists('rotation/target/alt')).toBe(false);

    const single = await client.schedule.getHandle('rotation/target/single').describe();
    expect(single.spec.calendars?.length ?? 0).toBeGreaterThan(0);
    expect(single.spec.intervals ?? []).toEqual([]);
    expect(single.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    const again = await syncRotationSchedules(client, [changed, byId('target/crash')], options);
    expect(again.unchanged.sort()).toEqual(['rotation/target/crash', 'rotation/target/single']);

    await syncRotationSchedules(client, [], options);
    await waitFor('every schedule gone', async () => {
      await syncRotationSchedules(client, [], options);
      return !(await exists('rotation/target/single')) && !(await exists('rotation/target/crash'));
    });

    async function exists(scheduleId: string): Promise<boolean> {
      try {
        await client.schedule.getHandle(scheduleId).describe();
        return true;
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return false;
        throw err;
      }
    }
  });

  test('triggered twice at once, rotate once', async () => {
    // A first rotation, so the next one has an overlap window to wait through.
    await rotate('target/twice', scheduled);
    await syncRotations(
      scheduled.db,
      scheduled.client,
      [byId('target/twice')],
      scheduled.taskQueue,
    );
    const handle = scheduled.client.schedule.getHandle('rotation/target/twice');
    try {
      await Promise.all([
        handle.trigger(ScheduleOverlapPolicy.SKIP),
        handle.trigger(ScheduleOverlapPolicy.SKIP),
      ]);
      const started = await waitFor(
        'the run',
        async () => (await handle.describe()).info.recentActions[0],
      );
      const workflowId = started.action.workflow.workflowId;
      runs.push({ harness: scheduled, workflowId });
      const final = await scheduled.client.workflow.getHandle(workflowId).result();
      expect({ step: final.step, skipped: final.skipped }).toEqual({ step: RotationStep.DONE });
      await remember('target/twice', scheduled);

      const described = await handle.describe();
      expect(described.info.recentActions).toHaveLength(1);
      const versions = await versionsOf(scheduled.db, 'target/twice');
      expect(versions.filter((v) => v.label !== 'failed')).toHaveLength(2);
    } finally {
      await handle.delete();
    }
  });
});

describe('workflow histories', () => {
  test('hold no secret value in any payload, decoded or not', async () => {
    expect(seen.size).toBeGreaterThanOrEqual(8);
    let payloads = 0;
    for (const { harness: h, workflowId } of runs) {
      const codec = new AesGcmPayloadCodec(h.encryptionKey);
      const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
      const encoded = collectPayloads(history);
      // Search attributes and memos are never encoded; they are searched as they are.
      const encrypted = (p: (typeof encoded)[number]) =>
        Buffer.from(p.metadata?.encoding ?? []).toString() === 'binary/encrypted';
      const decoded = [
        ...(await codec.decode(encoded.filter(encrypted))),
        ...encoded.filter((p) => !encrypted(p)),
      ];
      payloads += decoded.length;
      const texts = [
        JSON.stringify(history, (_key, value) =>
          value instanceof Uint8Array ? Buffer.from(value).toString() : value,
        ),
        ...decoded.map((p) => Buffer.from(p.data ?? []).toString()),
      ];
      // The check can see what is there: the credential id is in the decoded input.
      expect(
        texts.some((text) => text.includes(workflowId.split('-')[0].slice('rotation/'.length))),
      ).toBe(true);
      for (const text of texts)
        for (const secret of seen) expect(text.includes(secret)).toBe(false);
    }
    expect(payloads).toBeGreaterThan(50);
  });
});

/** Every Payload (an object with metadata and data) anywhere in a history. */
function collectPayloads(
  node: unknown,
  into: { metadata?: Record<string, Uint8Array>; data?: Uint8Array }[] = [],
) {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return into;
  const record = node as Record<string, unknown>;
  if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
    into.push(record as { metadata: Record<string, Uint8Array>; data: Uint8Array });
    return into;
  }
  for (const value of Object.values(record)) collectPayloads(value, into);
  return into;
}
