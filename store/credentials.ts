import type { Selectable } from 'kysely';
import type { Db } from './db';
import type { CredentialsTable } from './schema';

// The credentials of the policy and the outcome of their last rotation; versions live apart.

export type CredentialRow = Selectable<CredentialsTable>;

type CredentialFacts = { id: string; identity: string; system: string; strategy: string };

/** Records a credential of the policy, or brings its row up to date. */
export async function ensureCredential(
  db: Db,
  c: CredentialFacts,
  now = new Date(),
): Promise<void> {
  await db
    .insertInto('credentials')
    .values({
      id: c.id,
      identity: c.identity,
      system_id: c.system,
      strategy: c.strategy,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        identity: c.identity,
        system_id: c.system,
        strategy: c.strategy,
        removed_at: null,
        updated_at: now,
      }),
    )
    .execute();
}

/** Makes the credentials table list exactly the policy's credentials; removed ones are marked, not deleted. */
export async function syncCredentials(
  db: Db,
  credentials: CredentialFacts[],
  now = new Date(),
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (const c of credentials) await ensureCredential(tx, c, now);
    let removed = tx
      .updateTable('credentials')
      .set({ removed_at: now, updated_at: now })
      .where('removed_at', 'is', null);
    if (credentials.length)
      removed = removed.where(
        'id',
        'not in',
        credentials.map((c) => c.id),
      );
    await removed.execute();
  });
}

export async function findCredential(db: Db, id: string): Promise<CredentialRow | undefined> {
  return db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCredentials(db: Db): Promise<CredentialRow[]> {
  return db
    .selectFrom('credentials')
    .selectAll()
    .where('removed_at', 'is', null)
    .orderBy('id')
    .execute();
}

export async function recordRotationOutcome(
  db: Db,
  credentialId: string,
  outcome: { status: 'rotated' | 'failed'; workflowId: string; error?: string },
  now = new Date(),
): Promise<void> {
  await db
    .updateTable('credentials')
    .set({
      last_status: outcome.status,
      last_error: outcome.error ?? null,
      last_workflow_id: outcome.workflowId,
      updated_at: now,
    })
    .where('id', '=', credentialId)
    .execute();
}

/** When a rotation of the credential last succeeded, if ever. */
export async function lastRotatedAt(db: Db, credentialId: string): Promise<Date | undefined> {
  const row = await db
    .selectFrom('credentials')
    .select('last_rotated_at')
    .where('id', '=', credentialId)
    .executeTakeFirst();
  return row?.last_rotated_at ?? undefined;
}
