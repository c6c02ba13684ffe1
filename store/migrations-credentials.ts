import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

// The migrations of rotated credentials and their versions.
export const credentialsMigrations: Record<string, Migration> = {
  '2026-12-04-001-credentials': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('removed_at', 'timestamptz')
        .addColumn('last_rotated_at', 'timestamptz')
        .addColumn('last_status', 'text')
        .addColumn('last_error', 'text')
        .addColumn('last_workflow_id', 'text')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('credential_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id'))
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) =>
          c.notNull().check(sql`label IN ('pending', 'current', 'previous', 'retired', 'failed')`),
        )
        .addColumn('sealed', 'bytea')
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('set_at', 'timestamptz')
        .addColumn('promoted_at', 'timestamptz')
        .addColumn('retired_at', 'timestamptz')
        .addUniqueConstraint('credential_versions_one_per_run', ['credential_id', 'workflow_id'])
        .execute();
      // A credential has at most one version under each live label.
      for (const label of ['pending', 'current', 'previous']) {
        await sql`CREATE UNIQUE INDEX ${sql.raw(`credential_versions_one_${label}`)}
                  ON credential_versions (credential_id) WHERE label = ${sql.lit(label)}`.execute(
          db,
        );
      }
    },
  },
};
