import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

// The migrations of incidents: what they removed, the logins they shut, how they end.
export const incidentsMigrations: Record<string, Migration> = {
  '2026-12-05-001-incidents': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('reported_by', 'text', (c) => c.notNull())
        .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('quarantined', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('closed_at', 'timestamptz')
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('state', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      // A second report about an identity joins its open incident instead of starting another.
      await sql`CREATE UNIQUE INDEX incidents_one_open ON incidents (identity) WHERE closed_at IS NULL`.execute(
        db,
      );
      await db.schema
        .createTable('incident_removals')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull().check(sql`source IN ('standing', 'jit')`))
        .addColumn('request_id', 'text')
        .addColumn('removed_at', 'timestamptz', (c) => c.notNull())
        .addColumn('restored_at', 'timestamptz')
        .addPrimaryKeyConstraint('incident_removals_pk', [
          'incident_id',
          'system_id',
          'login',
          'role',
        ])
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('signature', 'text', (c) => c.primaryKey())
        .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '2026-12-06-001-incident-disabled-logins': {
    async up(db: Kysely<unknown>) {
      // Written before the login is disabled, so a crash right after cannot lose which logins to let in again.
      await db.schema
        .createTable('incident_disabled_logins')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_disabled_logins_pk', [
          'incident_id',
          'system_id',
          'login',
        ])
        .execute();
    },
  },
  '2026-12-07-001-incidents-ending': {
    async up(db: Kysely<unknown>) {
      // Set once, when a close is asked for or a restore approved. From then on a report about
      // the identity opens a new incident: containment must not wait for this one to wind down.
      await sql`ALTER TABLE incidents ADD COLUMN ending_at timestamptz`.execute(db);
      await sql`UPDATE incidents SET ending_at = COALESCE(closed_at, updated_at)
        WHERE closed_at IS NOT NULL OR status IN ('RESTORING', 'CLOSING')`.execute(db);
      await sql`DROP INDEX incidents_one_open`.execute(db);
      await sql`CREATE UNIQUE INDEX incidents_one_open ON incidents (identity)
        WHERE ending_at IS NULL`.execute(db);
    },
  },
};
