import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import { canonicalJson } from '../domain/canonical';
import { GENESIS_HASH } from '../domain/audit';
import type { AuditEvent, AuditEventInput } from '../domain/audit';
import type { Db } from './db';
import type { AuditEventsTable } from './schema';

// One lock id for the whole log: appends are serialised so that each links to the one before.
const AUDIT_LOCK = 0x6b657977;

type Row = Selectable<AuditEventsTable>;

function toEvent(row: Row): AuditEvent {
  return {
    seq: row.seq,
    key: row.event_key,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    approvalPath: row.approval_path,
    workflowId: row.workflow_id,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** SHA-256 over the canonical encoding of every field but the hash itself. */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(event)).digest('hex');
}

/**
 * Appends an event unless one with the same key exists, in which case the stored one is
 * returned: activities that record audit events may run more than once.
 */
export async function appendAuditEvent(
  db: Db,
  input: AuditEventInput,
  now = new Date(),
): Promise<AuditEvent> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`.execute(tx);
    const existing = await tx
      .selectFrom('audit_events')
      .selectAll()
      .where('event_key', '=', input.key)
      .executeTakeFirst();
    if (existing) return toEvent(existing);

    const last = await tx
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const unsigned: Omit<AuditEvent, 'hash'> = {
      seq: (last?.seq ?? 0) + 1,
      key: input.key,
      at: now.toISOString(),
      actor: input.actor,
      action: input.action,
      subject: input.subject,
      approvalPath: input.approvalPath ?? [],
      workflowId: input.workflowId ?? null,
      details: input.details ?? {},
      prevHash: last?.hash ?? GENESIS_HASH,
    };
    // JSON round trip drops undefined members, so what is stored is exactly what was hashed.
    const event: AuditEvent = JSON.parse(JSON.stringify({ ...unsigned, hash: '' }));
    event.hash = hashEvent({ ...event, hash: undefined } as Omit<AuditEvent, 'hash'>);
    await tx
      .insertInto('audit_events')
      .values({
        seq: event.seq,
        event_key: event.key,
        at: event.at,
        actor: event.actor,
        action: event.action,
        subject: event.subject,
        approval_path: JSON.stringify(event.approvalPath),
        workflow_id: event.workflowId,
        details: JSON.stringify(event.details),
        prev_hash: event.prevHash,
        hash: event.hash,
      })
      .execute();
    return event;
  });
}

export interface AuditQuery {
  subject?: string;
  actor?: string;
  limit?: number;
}

export async function listAuditEvents(db: Db, query: AuditQuery = {}): Promise<AuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll().orderBy('seq', 'asc');
  if (query.subject) q = q.where('subject', '=', query.subject);
  if (query.actor) q = q.where('actor', '=', query.actor);
  const rows = await q.limit(query.limit ?? 1_000).execute();
  return rows.map(toEvent);
}

/**
 * One subject's events after `afterSeq`, `limit` at a time, in the order of the chain. The log is
 * append-only and numbered by `seq`, so paging by it neither skips nor repeats an event.
 */
export async function auditEventsPage(
  db: Db,
  subject: string,
  afterSeq: number,
  limit: number,
): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('subject', '=', subject)
    .where('seq', '>', afterSeq)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

export type ChainVerdict =
  | { ok: true; events: number; head: string; anchorAt?: number }
  | { ok: false; events: number; brokenAt: number; problem: string; anchorMissing?: true };

/**
 * Walks the whole chain in order and names the first event that does not link or hash. A chain
 * cut at its end still links; `anchor`, a head hash kept elsewhere earlier, catches that: it must
 * still be in the chain.
 */
export async function verifyAuditChain(
  db: Db,
  options: { anchor?: string; pageSize?: number } = {},
): Promise<ChainVerdict> {
  const pageSize = options.pageSize ?? 1_000;
  let anchorAt: number | undefined;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const event = toEvent(row);
      const broken = (problem: string): ChainVerdict => ({
        ok: false,
        events: expectedSeq - 1,
        brokenAt: event.seq,
        problem,
      });
      if (event.seq !== expectedSeq)
        return broken(`event ${expectedSeq} is missing (the next one is ${event.seq})`);
      if (event.prevHash !== prevHash)
        return broken(`event ${event.seq} does not link to the event before it`);
      const { hash, ...unsigned } = event;
      if (hashEvent(unsigned) !== hash)
        return broken(`event ${event.seq} was altered after it was written`);
      prevHash = hash;
      expectedSeq += 1;
      if (hash === options.anchor) anchorAt = event.seq;
    }
    if (rows.length < pageSize) {
      const events = expectedSeq - 1;
      if (options.anchor !== undefined && anchorAt === undefined) {
        const problem =
          `no event has the hash ${options.anchor}: ` +
          "events were cut from the end, or it is not this log's";
        return { ok: false, events, brokenAt: expectedSeq, problem, anchorMissing: true };
      }
      return { ok: true, events, head: prevHash, ...(anchorAt !== undefined && { anchorAt }) };
    }
  }
}
