import { sql } from 'kysely';
import { isOpenIncident } from '../domain/incident';
import type { IncidentState, Removal } from '../domain/incident';
import type { Db } from './db';

export interface NewIncident {
  id: string;
  identity: string;
  severity: string;
  reason: string;
  reportedBy: string;
  reportedAt: string;
  workflowId: string;
}

export type IncidentReservation =
  { joined: false; id: string } | { joined: true; id: string; workflowId: string };

/**
 * Writes a new incident's row before its workflow starts. The database allows one open incident
 * per identity, so a second report, however close in time, is told which incident it joins. An
 * incident stops being open the moment its ending is recorded, not when its workflow ends: a
 * report about an identity whose incident is being closed or restored opens a new one.
 */
export async function reserveIncident(db: Db, incident: NewIncident): Promise<IncidentReservation> {
  try {
    await db
      .insertInto('incidents')
      .values({
        id: incident.id,
        identity: incident.identity,
        severity: incident.severity,
        reason: incident.reason,
        reported_by: incident.reportedBy,
        reported_at: incident.reportedAt,
        status: 'CONTAINING',
        quarantined: true,
        closed_at: null,
        ending_at: null,
        workflow_id: incident.workflowId,
        state: JSON.stringify({}),
        updated_at: new Date(),
      })
      // The workflow reserves again for incidents opened without the API; its own row is fine.
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return { joined: false, id: incident.id };
  } catch (err) {
    if ((err as { constraint?: string }).constraint !== 'incidents_one_open') throw err;
    const open = await db
      .selectFrom('incidents')
      .select(['id', 'workflow_id'])
      .where('identity', '=', incident.identity)
      .where('ending_at', 'is', null)
      .executeTakeFirst();
    // None: the open one began to end since the insert was refused, so this report opens its own.
    return open
      ? { joined: true, id: open.id, workflowId: open.workflow_id }
      : reserveIncident(db, incident);
  }
}

/** Forgets a reservation whose workflow never started. */
export async function releaseIncident(db: Db, id: string): Promise<void> {
  await db.deleteFrom('incident_disabled_logins').where('incident_id', '=', id).execute();
  await db.deleteFrom('incident_removals').where('incident_id', '=', id).execute();
  await db
    .deleteFrom('incidents')
    .where('id', '=', id)
    .where('status', '=', 'CONTAINING')
    .execute();
}

/**
 * Writes the workflow's state; an incident restored lifts the quarantine, one closed keeps it.
 * Saves of one incident can land out of order, so what only ever happens once (the ending, the
 * lifted quarantine) is never undone by an older state landing late.
 */
export async function saveIncident(db: Db, state: IncidentState): Promise<void> {
  const ended = state.restoredAt ?? state.closedAt;
  await db
    .updateTable('incidents')
    .set({
      status: state.status,
      quarantined: sql<boolean>`quarantined AND ${state.restoredAt === undefined}`,
      closed_at: ended ?? null,
      ...(!isOpenIncident(state) && { ending_at: sql<Date>`COALESCE(ending_at, now())` }),
      state: JSON.stringify(state),
      updated_at: new Date(),
    })
    .where('id', '=', state.incidentId)
    .execute();
  // A restore two people approved gives the identity back, whatever earlier incidents closed
  // without one; an incident reported since is not this restore's to lift.
  if (state.restoredAt) {
    await db
      .updateTable('incidents')
      .set({ quarantined: false })
      .where('identity', '=', state.identity)
      .where('reported_at', '<=', new Date(state.reportedAt))
      .execute();
  }
}

/**
 * An incident about the same identity reported after `incidentId` that still quarantines it:
 * while there is one, `incidentId`'s restore must not hand back what that one took.
 */
export async function laterQuarantine(db: Db, incidentId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('incidents as later')
    .innerJoin('incidents as this', 'this.identity', 'later.identity')
    .select('later.id')
    .where('this.id', '=', incidentId)
    .where('later.id', '<>', incidentId)
    .where('later.quarantined', '=', true)
    .whereRef('later.reported_at', '>=', 'this.reported_at')
    .orderBy('later.reported_at')
    .executeTakeFirst();
  return row?.id;
}

export async function isQuarantined(db: Db, identity: string): Promise<boolean> {
  return (await quarantiningIncident(db, identity)) !== undefined;
}

/** The incident that keeps the identity quarantined, if any; the latest when several closed without restore. */
export async function quarantiningIncident(db: Db, identity: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('incidents')
    .select('id')
    .where('identity', '=', identity)
    .where('quarantined', '=', true)
    .orderBy('reported_at', 'desc')
    .executeTakeFirst();
  return row?.id;
}

export async function findIncident(db: Db, id: string) {
  return db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listIncidents(db: Db, limit = 200) {
  const rows = await db
    .selectFrom('incidents')
    .selectAll()
    .orderBy('reported_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    identity: r.identity,
    severity: r.severity,
    status: r.status,
    quarantined: r.quarantined,
    reportedAt: r.reported_at.toISOString(),
    closedAt: r.closed_at?.toISOString() ?? null,
  }));
}

/**
 * The roles keyward granted the login just in time and that were live when the incident was
 * reported: those still held, and those their own workflows have revoked since.
 */
export async function jitGrantsOf(
  db: Db,
  target: { systemId: string; login: string; since: string },
): Promise<{ role: string; requestId: string }[]> {
  const rows = await db
    .selectFrom('grants')
    .select(['role', 'request_id'])
    .where('system_id', '=', target.systemId)
    .where('login', '=', target.login)
    .where((eb) =>
      eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>=', new Date(target.since))]),
    )
    .execute();
  return rows.map((r) => ({ role: r.role, requestId: r.request_id }));
}

/** Records what was removed before it is removed, so a crash in between loses nothing; repeats keep the first. */
export async function recordRemovals(
  db: Db,
  incidentId: string,
  systemId: string,
  removals: Removal[],
) {
  if (removals.length === 0) return;
  const now = new Date();
  await db
    .insertInto('incident_removals')
    .values(
      removals.map((r) => ({
        incident_id: incidentId,
        system_id: systemId,
        login: r.login,
        role: r.role,
        source: r.source,
        request_id: r.requestId ?? null,
        removed_at: now,
        restored_at: null,
      })),
    )
    .onConflict((oc) => oc.columns(['incident_id', 'system_id', 'login', 'role']).doNothing())
    .execute();
}

export async function removalsOf(db: Db, incidentId: string, systemId: string): Promise<Removal[]> {
  const rows = await db
    .selectFrom('incident_removals')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('system_id', '=', systemId)
    .orderBy('login')
    .orderBy('role')
    .execute();
  return rows.map((r) => ({
    login: r.login,
    role: r.role,
    source: r.source,
    requestId: r.request_id ?? undefined,
  }));
}

/** Records a login before it is disabled, like removals; a repeat keeps the first. */
export async function recordDisabledLogin(
  db: Db,
  incidentId: string,
  systemId: string,
  login: string,
) {
  await db
    .insertInto('incident_disabled_logins')
    .values({ incident_id: incidentId, system_id: systemId, login, disabled_at: new Date() })
    .onConflict((oc) => oc.columns(['incident_id', 'system_id', 'login']).doNothing())
    .execute();
}

/** The logins an incident disabled on a system, which its restore lets in again. */
export async function disabledLoginsOf(
  db: Db,
  incidentId: string,
  systemId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('incident_disabled_logins')
    .select('login')
    .where('incident_id', '=', incidentId)
    .where('system_id', '=', systemId)
    .orderBy('login')
    .execute();
  return rows.map((r) => r.login);
}

export async function markRestored(db: Db, incidentId: string, systemId: string): Promise<void> {
  await db
    .updateTable('incident_removals')
    .set({ restored_at: new Date() })
    .where('incident_id', '=', incidentId)
    .where('system_id', '=', systemId)
    .where('source', '=', 'standing')
    .where('restored_at', 'is', null)
    .execute();
}

/**
 * Claims a signed webhook delivery; false when that signature was accepted before. Deliveries
 * older than the signature's tolerance are forgotten, since their timestamp refuses them anyway.
 */
export async function claimWebhookDelivery(
  db: Db,
  signature: string,
  toleranceMs: number,
): Promise<boolean> {
  await db
    .deleteFrom('webhook_deliveries')
    .where(sql<boolean>`received_at < ${new Date(Date.now() - 2 * toleranceMs)}`)
    .execute();
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values({ signature })
    .onConflict((oc) => oc.column('signature').doNothing())
    .returning('signature')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Gives a claimed delivery back when keyward failed to act on it, so the sender's retry is not refused as a replay. */
export async function releaseWebhookDelivery(db: Db, signature: string): Promise<void> {
  await db.deleteFrom('webhook_deliveries').where('signature', '=', signature).execute();
}
