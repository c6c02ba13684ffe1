import type { Selectable } from 'kysely';
import type { Db } from './db';
import type { GrantsTable } from './schema';

export interface GrantRecord {
  requestId: string;
  identity: string;
  entitlementId: string;
  systemId: string;
  role: string;
  login: string;
  approvals: { approver: string; at: string }[];
  grantedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeCause: string | null;
  revokeLatenessMs: number | null;
}

/** Records a grant; a repeat for the same request keeps the first grant time. */
export async function recordGrant(
  db: Db,
  grant: Omit<GrantRecord, 'revokedAt' | 'revokedBy' | 'revokeCause' | 'revokeLatenessMs'>,
) {
  await db
    .insertInto('grants')
    .values({
      request_id: grant.requestId,
      identity: grant.identity,
      entitlement_id: grant.entitlementId,
      system_id: grant.systemId,
      role: grant.role,
      login: grant.login,
      approvals: JSON.stringify(grant.approvals),
      granted_at: grant.grantedAt,
      expires_at: grant.expiresAt,
      revoked_at: null,
      revoked_by: null,
      revoke_cause: null,
      revoke_lateness_ms: null,
    })
    .onConflict((oc) => oc.column('request_id').doNothing())
    .execute();
}

/** The grant of a request, if it was granted. */
export async function findGrant(db: Db, requestId: string): Promise<GrantRecord | undefined> {
  const row = await db
    .selectFrom('grants')
    .selectAll()
    .where('request_id', '=', requestId)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** Marks a grant revoked; the first revocation recorded wins. */
export async function recordRevocation(
  db: Db,
  requestId: string,
  revocation: { revokedAt: string; revokedBy: string; cause: string; latenessMs: number },
): Promise<void> {
  await db
    .updateTable('grants')
    .set({
      revoked_at: revocation.revokedAt,
      revoked_by: revocation.revokedBy,
      revoke_cause: revocation.cause,
      revoke_lateness_ms: revocation.latenessMs,
    })
    .where('request_id', '=', requestId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Another unrevoked grant of the same role to the same login on the same system, if any. */
export async function otherLiveGrant(
  db: Db,
  target: { requestId: string; systemId: string; role: string; login: string },
): Promise<string | undefined> {
  const row = await db
    .selectFrom('grants')
    .select('request_id')
    .where('system_id', '=', target.systemId)
    .where('role', '=', target.role)
    .where('login', '=', target.login)
    .where('request_id', '!=', target.requestId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row?.request_id;
}

export async function listGrants(
  db: Db,
  filter: { identity?: string; activeOnly?: boolean } = {},
): Promise<GrantRecord[]> {
  let q = db.selectFrom('grants').selectAll().orderBy('granted_at', 'desc');
  if (filter.identity) q = q.where('identity', '=', filter.identity);
  if (filter.activeOnly) q = q.where('revoked_at', 'is', null);
  return (await q.limit(1_000).execute()).map(toRecord);
}

function toRecord(row: Selectable<GrantsTable>): GrantRecord {
  return {
    requestId: row.request_id,
    identity: row.identity,
    entitlementId: row.entitlement_id,
    systemId: row.system_id,
    role: row.role,
    login: row.login,
    approvals: row.approvals,
    grantedAt: row.granted_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    revokedBy: row.revoked_by,
    revokeCause: row.revoke_cause,
    revokeLatenessMs: row.revoke_lateness_ms,
  };
}
