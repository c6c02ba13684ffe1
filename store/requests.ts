import { sql } from 'kysely';
import type { JitState } from '../domain/jit';
import type { Db } from './db';

function rowOf(state: JitState, workflowId: string) {
  return {
    id: state.requestId,
    requester: state.requester,
    entitlement_id: state.plan.entitlementId,
    system_id: state.plan.systemId,
    role: state.plan.role,
    login: state.plan.login,
    duration_ms: state.plan.durationMs,
    reason: state.reason,
    status: state.status,
    workflow_id: workflowId,
    approvals: JSON.stringify([...state.approvals, ...(state.denial ? [state.denial] : [])]),
    approvers: JSON.stringify(state.plan.eligibleApprovers),
    created_at: state.createdAt,
    updated_at: new Date(),
  };
}

/** Writes the request's current state; later states overwrite earlier ones. */
export async function saveRequest(db: Db, state: JitState, workflowId: string): Promise<void> {
  const row = rowOf(state, workflowId);
  await db
    .insertInto('requests')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({ status: row.status, approvals: row.approvals, updated_at: row.updated_at }),
    )
    .execute();
}

export type Reservation = { ok: true } | { ok: false; liveId: string; status: string };

/**
 * Writes a new request's row before its workflow starts, so that a second live request for the
 * same entitlement is refused by the database itself, whatever the timing. A row that already
 * exists under this id (a repeated request) is left as it is.
 */
export async function reserveRequest(
  db: Db,
  state: JitState,
  workflowId: string,
): Promise<Reservation> {
  try {
    await db
      .insertInto('requests')
      .values(rowOf(state, workflowId))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return { ok: true };
  } catch (err) {
    if ((err as { constraint?: string }).constraint !== 'requests_one_live') throw err;
    const live = await db
      .selectFrom('requests')
      .select(['id', 'status'])
      .where('requester', '=', state.requester)
      .where('entitlement_id', '=', state.plan.entitlementId)
      .where('status', 'in', ['PENDING', 'GRANTED'])
      .executeTakeFirst();
    return live
      ? { ok: false, liveId: live.id, status: live.status }
      : reserveRequest(db, state, workflowId);
  }
}

/** Forgets a reservation whose workflow never started. */
export async function releaseRequest(db: Db, requestId: string): Promise<void> {
  await db
    .deleteFrom('requests')
    .where('id', '=', requestId)
    .where('status', '=', 'PENDING')
    .execute();
}

export interface RequestSummary {
  id: string;
  requester: string;
  entitlementId: string;
  status: string;
  createdAt: string;
  workflowId: string;
}

export interface RequestFilter {
  requester?: string;
  /** Only pending requests this identity may approve. */
  awaiting?: string;
  limit?: number;
}

export async function listRequests(db: Db, filter: RequestFilter = {}): Promise<RequestSummary[]> {
  let q = db.selectFrom('requests').selectAll().orderBy('created_at', 'desc');
  if (filter.requester) q = q.where('requester', '=', filter.requester);
  if (filter.awaiting) {
    q = q.where('status', '=', 'PENDING').where(sql<boolean>`approvers ? ${filter.awaiting}`);
  }
  const rows = await q.limit(filter.limit ?? 200).execute();
  return rows.map((r) => ({
    id: r.id,
    requester: r.requester,
    entitlementId: r.entitlement_id,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    workflowId: r.workflow_id,
  }));
}
