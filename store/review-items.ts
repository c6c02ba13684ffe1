import { sql } from 'kysely';
import type { Insertable, Selectable } from 'kysely';
import type { Db } from './db';
import type { ReviewItemsTable } from './schema';

export type ReviewItemRow = Selectable<ReviewItemsTable>;
export type NewReviewItem = Omit<Insertable<ReviewItemsTable>, 'campaign_id' | 'seq'>;

const INSERT_BATCH = 1_000;

/**
 * Writes a campaign's items in one transaction, replacing any a failed earlier attempt left, so
 * the numbering is the same however often the collecting activity runs.
 */
export async function replaceItems(
  db: Db,
  campaignId: string,
  items: NewReviewItem[],
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('review_items').where('campaign_id', '=', campaignId).execute();
    for (let start = 0; start < items.length; start += INSERT_BATCH) {
      const rows = items
        .slice(start, start + INSERT_BATCH)
        .map((item, i) => ({ ...item, campaign_id: campaignId, seq: start + i + 1 }));
      await tx.insertInto('review_items').values(rows).execute();
    }
  });
}

/** Records decisions on undecided items only; the first decision on an item stands. */
export async function recordDecisions(
  db: Db,
  campaignId: string,
  decided: { seq: number; decision: 'certify' | 'revoke'; reason?: string }[],
  actor: string,
  at: string,
): Promise<number> {
  let changed = 0;
  for (const item of decided) {
    const result = await db
      .updateTable('review_items')
      .set({
        decision: item.decision,
        reason: item.reason ?? null,
        decided_by: actor,
        decided_at: at,
      })
      .where('campaign_id', '=', campaignId)
      .where('seq', '=', item.seq)
      .where('decision', 'is', null)
      .executeTakeFirst();
    changed += Number(result.numUpdatedRows);
  }
  return changed;
}

export async function delegateItems(
  db: Db,
  campaignId: string,
  seqs: number[],
  to: string,
): Promise<void> {
  if (seqs.length === 0) return;
  await db
    .updateTable('review_items')
    .set({ delegate: to })
    .where('campaign_id', '=', campaignId)
    .where('seq', 'in', seqs)
    .execute();
}

/** Marks a reviewer's pending items as escalated to `to`; returns how many there are. */
export async function escalateItems(
  db: Db,
  campaignId: string,
  reviewer: string,
  to: string,
): Promise<number> {
  const result = await db
    .updateTable('review_items')
    .set({ escalated_to: to })
    .where('campaign_id', '=', campaignId)
    .where('reviewer', '=', reviewer)
    .where('decision', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Gives the reviewer's undecided items the default decision, in one statement so that a retry
 * finds nothing left and changes nothing.
 */
export async function applyDefault(
  db: Db,
  campaignId: string,
  whose: { reviewer: string } | { identity: string },
  application: { decision: 'certify' | 'revoke'; reason: string; by: string },
  at: string,
): Promise<{ seq: number }[]> {
  const [column, value] =
    'reviewer' in whose
      ? (['reviewer', whose.reviewer] as const)
      : (['identity', whose.identity] as const);
  return db
    .updateTable('review_items')
    .set({
      decision: application.decision,
      reason: application.reason,
      decided_by: application.by,
      decided_at: at,
    })
    .where('campaign_id', '=', campaignId)
    .where(column, '=', value)
    .where('decision', 'is', null)
    .returning('seq')
    .execute();
}

export async function decisionTotals(db: Db, campaignId: string) {
  const row = await db
    .selectFrom('review_items')
    .select([
      sql<number>`count(*) filter (where decision = 'certify')`.as('certified'),
      sql<number>`count(*) filter (where decision = 'revoke')`.as('revoked'),
      sql<number>`count(*) filter (where decision is null)`.as('undecided'),
    ])
    .where('campaign_id', '=', campaignId)
    .executeTakeFirstOrThrow();
  return {
    certified: Number(row.certified),
    revoked: Number(row.revoked),
    undecided: Number(row.undecided),
  };
}

/** Revocations not yet applied, or applied and failed, after `afterSeq` in item order. */
export async function pendingRevocations(
  db: Db,
  campaignId: string,
  afterSeq: number,
  limit: number,
): Promise<ReviewItemRow[]> {
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where('decision', '=', 'revoke')
    .where((eb) => eb.or([eb('remediation', 'is', null), eb('remediation', '=', 'failed')]))
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export type RemediationResult =
  | { remediation: 'revoked' }
  | { remediation: 'failed'; error: string }
  | { remediation: 'superseded'; by: string };

/** Records one attempt; only a revocation that took effect (or was superseded) has a time done. */
export async function markRemediation(
  db: Db,
  campaignId: string,
  seq: number,
  result: RemediationResult,
) {
  await db
    .updateTable('review_items')
    .set((eb) => ({
      remediation: result.remediation,
      remediation_error: result.remediation === 'failed' ? result.error : null,
      superseded_by: result.remediation === 'superseded' ? result.by : null,
      remediation_attempts: eb('remediation_attempts', '+', 1),
      remediated_at: result.remediation === 'failed' ? null : new Date(),
    }))
    .where('campaign_id', '=', campaignId)
    .where('seq', '=', seq)
    .execute();
}

/**
 * The live keyward grants that hold this item's membership, newest first, each with its request
 * and the workflow that ends it.
 */
export async function liveGrantsOf(db: Db, row: ReviewItemRow) {
  return db
    .selectFrom('grants')
    .innerJoin('requests', 'requests.id', 'grants.request_id')
    .select([
      'grants.request_id as id',
      'requests.workflow_id as workflowId',
      'grants.granted_at as grantedAt',
    ])
    .where('grants.system_id', '=', row.system_id)
    .where('grants.role', '=', row.role)
    .where('grants.login', '=', row.login)
    .where('grants.revoked_at', 'is', null)
    .orderBy('grants.granted_at', 'desc')
    .execute();
}

/** Certified items need nothing done on the target; they are recorded as kept. */
export async function markKept(db: Db, campaignId: string): Promise<void> {
  await db
    .updateTable('review_items')
    .set({ remediation: 'kept', remediated_at: new Date() })
    .where('campaign_id', '=', campaignId)
    .where('decision', '=', 'certify')
    .where('remediation', 'is', null)
    .execute();
}

/** A revoked keyward grant is closed in the grants table too, so its JIT record tells the truth. */
export async function closeGrantRecords(db: Db, row: ReviewItemRow): Promise<void> {
  await db
    .updateTable('grants')
    .set({
      revoked_at: new Date(),
      revoked_by: row.decided_by,
      revoke_cause: 'campaign',
      revoke_lateness_ms: 0,
    })
    .where('system_id', '=', row.system_id)
    .where('role', '=', row.role)
    .where('login', '=', row.login)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The latest keyward grant of each login's membership in `role`, for items' "how obtained". */
export async function latestGrants(
  db: Db,
  systemId: string,
  role: string,
): Promise<Map<string, { at: Date; live: boolean }>> {
  const rows = await db
    .selectFrom('grants')
    .select(['login', 'granted_at', 'revoked_at'])
    .where('system_id', '=', systemId)
    .where('role', '=', role)
    .orderBy('granted_at')
    .execute();
  return new Map(
    rows.map((row) => [row.login, { at: row.granted_at, live: row.revoked_at === null }]),
  );
}
