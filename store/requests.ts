import { sql } from 'kysely';
import type { JitState } from '../domain/jit';
import type { Db } from './db';

/** Writes the request's current state; later states overwrite earlier ones. */
export async function saveRequest(db: Db, state: JitState, workflowId: string): Promise<void> {
  const row = {
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
  await db
    .insertInto('requests')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet({ status: row.status, approvals: row.approvals, updated_at: row.updated_at }))
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
