import { GENESIS_HASH, type AuditEventInput } from '../../domain/audit';
import { appendAuditEvent, hashEvent, listAuditEvents, verifyAuditChain } from '../../store/audit';
import { createDb, migrate, type Db } from '../../store/db';
import { hashToken, identityForToken, mintToken, revokeTokensOf } from '../../store/tokens';
import { createTestDatabase, superuserQuery, type TestDatabase } from '../support/servers';

const event = (key: string, changes: Partial<AuditEventInput> = {}): AuditEventInput => ({
  key,
  actor: 'bob',
  action: 'request.approved',
  subject: 'req-1',
  approvalPath: [{ approver: 'bob', at: '2026-12-01T10:05:00.000Z' }],
  workflowId: 'jit/req-1',
  details: { entitlementId: 'pg/admin', durationMs: 3_600_000 },
  ...changes,
});

/** A fresh, migrated database per test, so each chain starts at the genesis hash. */
async function freshDb(): Promise<{ db: Db; name: string }> {
  const database = await createTestDatabase('kw_audit');
  databases.push(database);
  const db = createDb(database.url, 10);
  dbs.push(db);
  await migrate(db);
  return { db, name: database.name };
}

/**
 * Changes the log the way only its owner could: with the append-only trigger switched off,
 * which is what the hash chain exists to catch.
 */
async function tamper(sql: string, params: unknown[], database: string): Promise<void> {
  await superuserQuery('ALTER TABLE audit_events DISABLE TRIGGER USER', [], database);
  try {
    await superuserQuery(sql, params, database);
  } finally {
    await superuserQuery('ALTER TABLE audit_events ENABLE TRIGGER USER', [], database);
  }
}

async function appendSeveral(db: Db, count: number): Promise<void> {
  for (let i = 1; i <= count; i += 1) {
    await appendAuditEvent(
      db,
      event(`event-${i}`, { subject: `req-${i}` }),
      new Date(Date.UTC(2026, 11, 1, 10, i)),
    );
  }
}

const databases: TestDatabase[] = [];
const dbs: Db[] = [];

afterAll(async () => {
  await Promise.all(dbs.map((db) => db.destroy()));
  await Promise.all(databases.map((database) => database.drop()));
});

describe('appendAuditEvent', () => {
  it('links each event to the one before, starting from the genesis hash', async () => {
    const { db } = await freshDb();

    const first = await appendAuditEvent(db, event('approve-bob'));
    const second = await appendAuditEvent(db, event('approve-carol', { actor: 'carol' }));
    const third = await appendAuditEvent(
      db,
      event('granted', { actor: 'keyward', action: 'grant.created' }),
    );

    expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(third.prevHash).toBe(second.hash);
    expect(new Set([first.hash, second.hash, third.hash]).size).toBe(3);
    for (const appended of [first, second, third]) {
      const { hash, ...unsigned } = appended;
      expect(hash).toBe(hashEvent(unsigned));
    }
  });

  it('stores what it returns', async () => {
    const { db } = await freshDb();
    const at = new Date('2026-12-01T10:05:00.000Z');

    const appended = await appendAuditEvent(db, event('approve-bob'), at);
    const bare = { key: 'bare', actor: 'dana', action: 'incident.opened', subject: 'inc-1' };
    const minimal = await appendAuditEvent(db, bare);

    expect(appended.at).toBe(at.toISOString());
    expect(minimal).toMatchObject({ approvalPath: [], details: {}, workflowId: null });
    expect(await listAuditEvents(db)).toEqual([appended, minimal]);
  });

  it('stores one event when the same key is appended twice and returns the stored one', async () => {
    const { db } = await freshDb();

    const first = await appendAuditEvent(
      db,
      event('approve-bob'),
      new Date('2026-12-01T10:05:00.000Z'),
    );
    const retried = event('approve-bob', { actor: 'someone-else' });
    const again = await appendAuditEvent(db, retried, new Date('2026-12-01T11:00:00.000Z'));

    expect(again).toEqual(first);
    expect(await listAuditEvents(db)).toEqual([first]);
  });

  it('keeps a gapless intact chain under concurrent appends', async () => {
    const { db } = await freshDb();

    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAuditEvent(db, event(`concurrent-${i}`, { subject: `req-${i}` })),
      ),
    );

    expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const stored = await listAuditEvents(db);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    stored.forEach((e, i) => expect(e.prevHash).toBe(i === 0 ? GENESIS_HASH : stored[i - 1].hash));
    expect(await verifyAuditChain(db)).toEqual({ ok: true, events: 20, head: stored[19].hash });
  });

  it('keeps the chain intact when concurrent appends repeat keys', async () => {
    const { db } = await freshDb();

    const appended = await Promise.all(
      Array.from({ length: 10 }, (_, i) => appendAuditEvent(db, event(`retried-${i % 3}`))),
    );

    expect(new Set(appended.map((e) => e.seq)).size).toBe(3);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, events: 3 });
  });
});

describe('verifyAuditChain', () => {
  it('passes on an empty log', async () => {
    const { db } = await freshDb();

    expect(await verifyAuditChain(db)).toEqual({ ok: true, events: 0, head: GENESIS_HASH });
  });

  it('passes on an intact log, across pages', async () => {
    const { db } = await freshDb();
    await appendSeveral(db, 5);
    const head = (await listAuditEvents(db))[4].hash;

    expect(await verifyAuditChain(db)).toEqual({ ok: true, events: 5, head });
    expect(await verifyAuditChain(db, { pageSize: 2 })).toEqual({ ok: true, events: 5, head });
  });

  it('reports a row altered after it was written', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 5);

    await tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", [], name);

    expect(await verifyAuditChain(db)).toEqual({
      ok: false,
      events: 2,
      brokenAt: 3,
      problem: 'event 3 was altered after it was written',
    });
    expect(await verifyAuditChain(db, { pageSize: 2 })).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('reports details changed inside the stored JSON', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 4);

    await tamper(
      `UPDATE audit_events SET details = jsonb_set(details, '{durationMs}', '86400000') WHERE seq = 2`,
      [],
      name,
    );

    expect(await verifyAuditChain(db)).toMatchObject({
      ok: false,
      brokenAt: 2,
      problem: 'event 2 was altered after it was written',
    });
  });

  it('reports a deleted event by the sequence number that is missing', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 5);

    await tamper('DELETE FROM audit_events WHERE seq = 3', [], name);

    expect(await verifyAuditChain(db)).toEqual({
      ok: false,
      events: 2,
      brokenAt: 4,
      problem: 'event 3 is missing (the next one is 4)',
    });
  });

  it('catches events cut from the end when given a head hash kept from an earlier verification', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 5);
    const verdict = await verifyAuditChain(db);
    if (!verdict.ok) throw new Error('the fresh chain should verify');

    await tamper('DELETE FROM audit_events WHERE seq = 5', [], name);

    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, events: 4 });
    expect(await verifyAuditChain(db, { anchor: verdict.head })).toMatchObject({
      ok: false,
      events: 4,
      anchorMissing: true,
      problem: expect.stringContaining('events were cut from the end'),
    });
    const fourth = await verifyAuditChain(db);
    if (!fourth.ok) throw new Error('the shortened chain still links');
    expect(await verifyAuditChain(db, { anchor: fourth.head })).toMatchObject({
      ok: true,
      anchorAt: 4,
    });
  });

  it('refuses to update, delete or truncate events', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 2);

    for (const sql of [
      "UPDATE audit_events SET actor = 'mallory'",
      'DELETE FROM audit_events',
      'TRUNCATE audit_events',
    ]) {
      await expect(superuserQuery(sql, [], name)).rejects.toThrow('audit_events is append-only');
    }
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, events: 2 });
  });

  it('reports an event whose link to the one before was changed', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 5);

    await tamper('UPDATE audit_events SET prev_hash = $1 WHERE seq = 4', [GENESIS_HASH], name);

    expect(await verifyAuditChain(db)).toEqual({
      ok: false,
      events: 3,
      brokenAt: 4,
      problem: 'event 4 does not link to the event before it',
    });
  });

  it('reports a rewritten event whose own hash was recomputed, at the event after it', async () => {
    const { db, name } = await freshDb();
    await appendSeveral(db, 4);
    const [, second] = await listAuditEvents(db);
    const forged = { ...second, actor: 'mallory' };
    const { hash: _, ...unsigned } = forged;

    const update = "UPDATE audit_events SET actor = 'mallory', hash = $1 WHERE seq = 2";
    await tamper(update, [hashEvent(unsigned)], name);

    expect(await verifyAuditChain(db)).toMatchObject({
      ok: false,
      brokenAt: 3,
      problem: 'event 3 does not link to the event before it',
    });
  });
});

describe('API tokens', () => {
  let db: Db;
  let name: string;

  beforeAll(async () => {
    ({ db, name } = await freshDb());
  });

  it('resolves a minted token to its identity', async () => {
    const token = await mintToken(db, 'alice', 'laptop');

    expect(token).toMatch(/^kwt_[A-Za-z0-9_-]{43}$/);
    expect(await identityForToken(db, token)).toBe('alice');
  });

  it('stores only the SHA-256 hash of a token', async () => {
    const token = await mintToken(db, 'carol', 'ci');

    const { rows } = await superuserQuery(
      'SELECT * FROM api_tokens WHERE identity = $1',
      ['carol'],
      name,
    );

    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      identity: 'carol',
      label: 'ci',
      token_hash: hashToken(token),
      revoked_at: null,
    });
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(4));
  });

  it('resolves a revoked token to nothing and leaves other identities alone', async () => {
    const first = await mintToken(db, 'bob', 'laptop');
    const second = await mintToken(db, 'bob', 'phone');
    const other = await mintToken(db, 'dana', 'laptop');

    expect(await revokeTokensOf(db, 'bob')).toBe(2);

    expect(await identityForToken(db, first)).toBeUndefined();
    expect(await identityForToken(db, second)).toBeUndefined();
    expect(await identityForToken(db, other)).toBe('dana');
    expect(await revokeTokensOf(db, 'bob')).toBe(0);
  });

  it('resolves a token without the kwt_ prefix to nothing', async () => {
    const token = await mintToken(db, 'erin', 'laptop');

    expect(await identityForToken(db, token.slice(4))).toBeUndefined();
    expect(await identityForToken(db, `KWT_${token.slice(4)}`)).toBeUndefined();
    expect(await identityForToken(db, '')).toBeUndefined();
  });

  it('resolves an unknown or altered token to nothing', async () => {
    const token = await mintToken(db, 'erin', 'desktop');
    const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

    expect(await identityForToken(db, altered)).toBeUndefined();
    expect(await identityForToken(db, 'kwt_not-a-real-token')).toBeUndefined();
  });
});
