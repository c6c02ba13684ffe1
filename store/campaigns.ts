import { appendAuditEvent } from './audit';
import type { Db } from './db';

// A campaign's items are written in review-items.ts and read in review-item-reads.ts; callers
// reach all three through this module.
export * from './review-item-reads';
export * from './review-items';

export interface CampaignRecord {
  id: string;
  name: string;
  spec: Record<string, unknown>;
  status: string;
  createdBy: string;
  definitionId: string | null;
  createdAt: string;
  launchedAt: string | null;
  deadlineAt: string | null;
  finishedAt: string | null;
  confirmedBy: string | null;
  declinedBy: string | null;
  failure: string | null;
}

/** Records a campaign; false when one with that id exists already, which is left as it was. */
export async function createCampaign(
  db: Db,
  campaign: { id: string; name: string; spec: object; createdBy: string; definitionId?: string },
): Promise<boolean> {
  const inserted = await db
    .insertInto('campaigns')
    .values({
      id: campaign.id,
      name: campaign.name,
      spec: JSON.stringify(campaign.spec),
      status: 'LAUNCHING',
      created_by: campaign.createdBy,
      definition_id: campaign.definitionId ?? null,
      created_at: new Date(),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Takes back a campaign whose workflow never started; nothing else refers to it yet. */
export async function deleteUnstartedCampaign(db: Db, id: string): Promise<void> {
  await db.deleteFrom('campaigns').where('id', '=', id).where('launched_at', 'is', null).execute();
}

export async function findCampaign(db: Db, id: string): Promise<CampaignRecord | undefined> {
  const row = await db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    spec: row.spec,
    status: row.status,
    createdBy: row.created_by,
    definitionId: row.definition_id,
    createdAt: row.created_at.toISOString(),
    launchedAt: row.launched_at?.toISOString() ?? null,
    deadlineAt: row.deadline_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    confirmedBy: row.confirmed_by,
    declinedBy: row.declined_by,
    failure: row.failure,
  };
}

export async function listCampaigns(db: Db): Promise<CampaignRecord[]> {
  const rows = await db
    .selectFrom('campaigns')
    .select('id')
    .orderBy('created_at', 'desc')
    .limit(200)
    .execute();
  const found = await Promise.all(rows.map((row) => findCampaign(db, row.id)));
  return found.filter((c): c is CampaignRecord => c !== undefined);
}

export async function updateCampaign(
  db: Db,
  id: string,
  changes: {
    status?: string;
    launchedAt?: string;
    deadlineAt?: string;
    finishedAt?: string;
    confirmedBy?: string;
    declinedBy?: string;
    failure?: string;
  },
): Promise<void> {
  await db
    .updateTable('campaigns')
    .set({
      ...(changes.status && { status: changes.status }),
      ...(changes.launchedAt && { launched_at: changes.launchedAt }),
      ...(changes.deadlineAt && { deadline_at: changes.deadlineAt }),
      ...(changes.finishedAt && { finished_at: changes.finishedAt }),
      ...(changes.confirmedBy && { confirmed_by: changes.confirmedBy }),
      ...(changes.declinedBy && { declined_by: changes.declinedBy }),
      ...(changes.failure && { failure: changes.failure }),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Appends an event about a campaign to the audit log, filed under the campaign and its workflow;
 * a repeat of its key appends nothing, so an activity's retry is harmless.
 */
export function appendCampaignEvent(
  db: Db,
  event: {
    key: string;
    campaignId: string;
    action: string;
    actor: string;
    details: Record<string, unknown>;
  },
) {
  return appendAuditEvent(db, {
    key: event.key,
    actor: event.actor,
    action: event.action,
    subject: `campaign/${event.campaignId}`,
    workflowId: `campaign/${event.campaignId}`,
    details: event.details,
  });
}
