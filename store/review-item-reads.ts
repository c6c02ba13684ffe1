import { sql } from 'kysely';
import type { Expression, ExpressionBuilder } from 'kysely';
import type { Db } from './db';
import type { ReviewItemRow } from './review-items';
import type { Database } from './schema';

type Items = ExpressionBuilder<Database, 'review_items'>;

/** The items `actor` sees: theirs, delegated or escalated to them, and never their own access. */
const seenBy = (actor: string) => (eb: Items) =>
  eb.and([
    eb.or([eb('reviewer', '=', actor), eb('delegate', '=', actor), eb('escalated_to', '=', actor)]),
    eb('identity', '<>', actor),
  ]);

/**
 * Who answers for an item: its delegate if it has one, its reviewer otherwise, and whoever it was
 * escalated to. A reviewer still sees what they delegated, but it waits for the delegate.
 */
const answeredBy = (actor: string) => (eb: Items) =>
  eb.or([eb(eb.fn.coalesce('delegate', 'reviewer'), '=', actor), eb('escalated_to', '=', actor)]);

/**
 * Items whose identity, entitlement, system, risk tier or decision ("pending" while there is none)
 * contain `text`, in any case; every item contains the empty text.
 */
const matching = (text: string) => (eb: Items) => {
  const contains = (value: Expression<string | null>) =>
    sql<boolean>`strpos(lower(${value}), lower(${text})) > 0`;
  return eb.or([
    contains(eb.ref('identity')),
    contains(eb.ref('entitlement_id')),
    contains(eb.ref('system_id')),
    contains(eb.ref('risk_tier')),
    contains(sql<string>`coalesce(decision, 'pending')`),
  ]);
};

/** Reviewers in id order after `after`, a page at a time. */
export async function reviewersPage(
  db: Db,
  campaignId: string,
  after: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('review_items')
    .select('reviewer')
    .distinct()
    .where('campaign_id', '=', campaignId)
    .where('reviewer', '>', after)
    .orderBy('reviewer')
    .limit(limit)
    .execute();
  return rows.map((row) => row.reviewer);
}

export async function itemsOfReviewer(
  db: Db,
  campaignId: string,
  reviewer: string,
  afterSeq: number,
  limit: number,
): Promise<ReviewItemRow[]> {
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where('reviewer', '=', reviewer)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export interface ActorItemsPage {
  /** Only items that contain this text (see `matching`); all of them when empty. */
  filter?: string;
  offset: number;
  limit: number;
}

/** A page, in item order, of what `actor` sees of a campaign (see `seenBy`). */
export async function itemsForActor(
  db: Db,
  campaignId: string,
  actor: string,
  page: ActorItemsPage,
): Promise<ReviewItemRow[]> {
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where(seenBy(actor))
    .where(matching(page.filter ?? ''))
    .orderBy('seq')
    .offset(page.offset)
    .limit(page.limit)
    .execute();
}

export interface ActorCounts {
  /** Every item `actor` sees. */
  total: number;
  /** Those that contain the filter's text. */
  matching: number;
  /** Those nobody decided yet, including the ones delegated to somebody else. */
  undecided: number;
  /** Those undecided that `actor` answers for (see `answeredBy`). */
  pending: number;
}

/** How many items `actor` sees, how many match `filter`, and how many wait for a decision. */
export async function actorCounts(
  db: Db,
  campaignId: string,
  actor: string,
  filter = '',
): Promise<ActorCounts> {
  const row = await db
    .selectFrom('review_items')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.countAll<number>().filterWhere(matching(filter)).as('matching'),
      eb.fn.countAll<number>().filterWhere('decision', 'is', null).as('undecided'),
      eb.fn
        .countAll<number>()
        .filterWhere((f) => f.and([f('decision', 'is', null), answeredBy(actor)(f)]))
        .as('pending'),
    ])
    .where('campaign_id', '=', campaignId)
    .where(seenBy(actor))
    .executeTakeFirstOrThrow();
  return {
    total: Number(row.total),
    matching: Number(row.matching),
    undecided: Number(row.undecided),
    pending: Number(row.pending),
  };
}

/** Up to `limit` of the undecided items `actor` answers for, in item order. */
export async function pendingItemsFor(
  db: Db,
  campaignId: string,
  actor: string,
  limit: number,
): Promise<ReviewItemRow[]> {
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where(seenBy(actor))
    .where(answeredBy(actor))
    .where('decision', 'is', null)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export async function itemsBySeq(
  db: Db,
  campaignId: string,
  seqs: number[],
): Promise<ReviewItemRow[]> {
  if (seqs.length === 0) return [];
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where('seq', 'in', seqs)
    .execute();
}

export interface ReviewerProgress {
  reviewer: string;
  total: number;
  decided: number;
  pending: number;
  revoke: number;
}

export async function progressByReviewer(db: Db, campaignId: string): Promise<ReviewerProgress[]> {
  const rows = await db
    .selectFrom('review_items')
    .select((eb) => [
      'reviewer',
      eb.fn.countAll<number>().as('total'),
      sql<number>`count(decision)`.as('decided'),
      sql<number>`count(*) filter (where decision = 'revoke')`.as('revoke'),
    ])
    .where('campaign_id', '=', campaignId)
    .groupBy('reviewer')
    .orderBy('reviewer')
    .execute();
  return rows.map((row) => ({
    reviewer: row.reviewer,
    total: Number(row.total),
    decided: Number(row.decided),
    pending: Number(row.total) - Number(row.decided),
    revoke: Number(row.revoke),
  }));
}

export async function remediationCounts(
  db: Db,
  campaignId: string,
): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('review_items')
    .select((eb) => ['remediation', eb.fn.countAll<number>().as('n')])
    .where('campaign_id', '=', campaignId)
    .groupBy('remediation')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.remediation ?? 'none', Number(row.n)]));
}

export async function itemsPage(db: Db, campaignId: string, afterSeq: number, limit: number) {
  return db
    .selectFrom('review_items')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}
