import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from './db';
import type { CredentialVersionsTable, VersionLabel } from './schema';

// The versions of each credential's secret, moved from label to label as rotations run.

export type VersionRow = Selectable<CredentialVersionsTable>;

/** The version's metadata; the sealed value is read only where it is needed. */
export type VersionInfo = Omit<VersionRow, 'sealed'>;

const INFO_COLUMNS = [
  'id',
  'credential_id',
  'login',
  'label',
  'workflow_id',
  'created_at',
  'set_at',
  'promoted_at',
  'retired_at',
] as const;

/** What a sealed value is bound to: it opens only on its own credential and version. */
export const sealContext = (credentialId: string, versionId: string) =>
  `${credentialId}#${versionId}`;

export async function versionWithLabel(
  db: Db,
  credentialId: string,
  label: 'pending' | 'current' | 'previous',
): Promise<VersionInfo | undefined> {
  return db
    .selectFrom('credential_versions')
    .select(INFO_COLUMNS)
    .where('credential_id', '=', credentialId)
    .where('label', '=', label)
    .executeTakeFirst();
}

export async function findVersion(db: Db, versionId: string): Promise<VersionRow | undefined> {
  return db
    .selectFrom('credential_versions')
    .selectAll()
    .where('id', '=', versionId)
    .executeTakeFirst();
}

export async function versionsOf(db: Db, credentialId: string): Promise<VersionInfo[]> {
  return db
    .selectFrom('credential_versions')
    .select(INFO_COLUMNS)
    .where('credential_id', '=', credentialId)
    .orderBy('created_at')
    .execute();
}

/**
 * The pending version of one rotation run: created on the first call, returned as it is on any
 * later one, so a retried activity never makes a second secret. `seal` is called only when a
 * version is created. A pending version left by a run that ended without cleaning up is failed
 * first; the new one replaces whatever it had set on the target.
 */
export async function ensurePendingVersion(
  db: Db,
  input: {
    credentialId: string;
    workflowId: string;
    login: string;
    seal: (versionId: string) => Buffer;
  },
  now = new Date(),
): Promise<{ version: VersionInfo; created: boolean; abandoned?: string }> {
  return db.transaction().execute(async (tx) => {
    // Rotations of one credential queue here rather than interleave.
    await tx
      .selectFrom('credentials')
      .select('id')
      .where('id', '=', input.credentialId)
      .forUpdate()
      .execute();
    const existing = await tx
      .selectFrom('credential_versions')
      .select(INFO_COLUMNS)
      .where('credential_id', '=', input.credentialId)
      .where('workflow_id', '=', input.workflowId)
      .executeTakeFirst();
    if (existing) return { version: existing, created: false };

    const stale = await tx
      .updateTable('credential_versions')
      .set({ label: 'failed', sealed: null, retired_at: now })
      .where('credential_id', '=', input.credentialId)
      .where('label', '=', 'pending')
      .returning('workflow_id')
      .executeTakeFirst();
    const id = randomUUID();
    const version = await tx
      .insertInto('credential_versions')
      .values({
        id,
        credential_id: input.credentialId,
        login: input.login,
        label: 'pending',
        sealed: input.seal(id),
        workflow_id: input.workflowId,
        created_at: now,
        set_at: null,
        promoted_at: null,
        retired_at: null,
      })
      .returning(INFO_COLUMNS)
      .executeTakeFirstOrThrow();
    return { version, created: true, abandoned: stale?.workflow_id };
  });
}

export async function markVersionSet(db: Db, versionId: string, now = new Date()): Promise<void> {
  await db
    .updateTable('credential_versions')
    .set({ set_at: now })
    .where('id', '=', versionId)
    .where('set_at', 'is', null)
    .execute();
}

/**
 * Pending becomes current, current becomes previous, and the previous one before it is retired
 * and its value erased. Repeating it after it took effect changes nothing and returns the same.
 */
export async function promoteVersion(
  db: Db,
  credentialId: string,
  versionId: string,
  now = new Date(),
): Promise<{ previous?: VersionInfo; retired?: string }> {
  return db.transaction().execute(async (tx) => {
    await tx
      .selectFrom('credentials')
      .select('id')
      .where('id', '=', credentialId)
      .forUpdate()
      .execute();
    const version = await tx
      .selectFrom('credential_versions')
      .select(['label'])
      .where('id', '=', versionId)
      .where('credential_id', '=', credentialId)
      .executeTakeFirst();
    const previousNow = () =>
      tx
        .selectFrom('credential_versions')
        .select(INFO_COLUMNS)
        .where('credential_id', '=', credentialId)
        .where('label', '=', 'previous')
        .executeTakeFirst();
    if (version?.label === 'current') return { previous: await previousNow() };
    if (version?.label !== 'pending') {
      throw new Error(
        `version ${versionId} of ${credentialId} is ${version?.label ?? 'missing'}, not pending`,
      );
    }
    const retired = await relabel(tx, credentialId, 'previous', 'retired', now);
    await relabel(tx, credentialId, 'current', 'previous', now);
    await tx
      .updateTable('credential_versions')
      .set({ label: 'current', promoted_at: now })
      .where('id', '=', versionId)
      .execute();
    await tx
      .updateTable('credentials')
      .set({ last_rotated_at: now, updated_at: now })
      .where('id', '=', credentialId)
      .execute();
    return { previous: await previousNow(), retired };
  });
}

async function relabel(
  tx: Db,
  credentialId: string,
  from: VersionLabel,
  to: VersionLabel,
  now: Date,
): Promise<string | undefined> {
  const erase = to === 'retired' || to === 'failed';
  const row = await tx
    .updateTable('credential_versions')
    .set(erase ? { label: to, sealed: null, retired_at: now } : { label: to })
    .where('credential_id', '=', credentialId)
    .where('label', '=', from)
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/** Ends a version that is no longer needed (`previous` after its overlap, `pending` after a failure). */
export async function endVersion(
  db: Db,
  versionId: string,
  label: 'retired' | 'failed',
  now = new Date(),
): Promise<boolean> {
  const from: VersionLabel = label === 'retired' ? 'previous' : 'pending';
  const result = await db
    .updateTable('credential_versions')
    .set({ label, sealed: null, retired_at: now })
    .where('id', '=', versionId)
    .where('label', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
