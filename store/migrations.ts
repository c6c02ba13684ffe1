import { sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';

// Migrations live in code, in order; a migration that has run is never edited, only followed.
const migrations: Record<string, Migration> = {
  '2026-12-01-001-initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('requester', 'text', (c) => c.notNull())
        .addColumn('entitlement_id', 'text', (c) => c.notNull())
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('approvals', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('approvers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('requests_requester_idx')
        .on('requests')
        .column('requester')
        .execute();

      await db.schema
        .createTable('grants')
        .addColumn('request_id', 'text', (c) => c.primaryKey().references('requests.id'))
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('entitlement_id', 'text', (c) => c.notNull())
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('approvals', 'jsonb', (c) => c.notNull())
        .addColumn('granted_at', 'timestamptz', (c) => c.notNull())
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('revoked_at', 'timestamptz')
        .addColumn('revoked_by', 'text')
        .addColumn('revoke_cause', 'text')
        .addColumn('revoke_lateness_ms', 'bigint')
        .execute();
      await db.schema.createIndex('grants_identity_idx').on('grants').column('identity').execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('event_key', 'text', (c) => c.notNull().unique())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('approval_path', 'jsonb', (c) => c.notNull())
        .addColumn('workflow_id', 'text')
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_events_subject_idx')
        .on('audit_events')
        .column('subject')
        .execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .execute();
    },
  },
  '2026-12-03-001-notifications': {
    async up(db: Kysely<unknown>) {
      // Where each approval message was posted, so every copy can be updated after a decision.
      await db.schema
        .createTable('slack_messages')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('slack_messages_pk', ['request_id', 'channel'])
        .execute();
      // One row per notice sent, so a retried activity does not send it twice.
      await db.schema
        .createTable('notices_sent')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Email decision links are single-use: the nonce of each one used.
      await db.schema
        .createTable('email_link_uses')
        .addColumn('nonce', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('approver', 'text', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '2026-12-03-002-one-live-request': {
    async up(db: Kysely<unknown>) {
      // One identity holds at most one live request per entitlement: two would share one
      // membership on the target, and the first to end would take it from the second.
      await sql`CREATE UNIQUE INDEX requests_one_live ON requests (requester, entitlement_id)
                WHERE status IN ('PENDING', 'GRANTED')`.execute(db);
    },
  },
  '2026-12-03-003-audit-append-only': {
    async up(db: Kysely<unknown>) {
      // The hash chain detects edits; this refuses them in the first place, to anyone short of
      // the table's owner disabling the trigger (which verification then catches).
      await sql`CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$`.execute(db);
      await sql`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
                FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`.execute(db);
      await sql`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
                FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`.execute(db);
    },
  },
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
  '2026-12-06-002-campaigns': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('campaigns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('spec', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('definition_id', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('launched_at', 'timestamptz')
        .addColumn('deadline_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .addColumn('confirmed_by', 'text')
        .execute();
      // Items are numbered within their campaign; reviewers read and decide them by that number.
      await db.schema
        .createTable('review_items')
        .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('reviewer', 'text', (c) => c.notNull())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('identity_kind', 'text', (c) => c.notNull())
        .addColumn('entitlement_id', 'text', (c) => c.notNull())
        .addColumn('system_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('risk_tier', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('last_granted_at', 'timestamptz')
        .addColumn('delegate', 'text')
        .addColumn('escalated_to', 'text')
        .addColumn('decision', 'text', (c) => c.check(sql`decision IN ('certify', 'revoke')`))
        .addColumn('reason', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'timestamptz')
        .addColumn('remediation', 'text')
        .addColumn('remediation_error', 'text')
        .addColumn('remediation_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('remediated_at', 'timestamptz')
        .addPrimaryKeyConstraint('review_items_pk', ['campaign_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('review_items_reviewer_idx')
        .on('review_items')
        .columns(['campaign_id', 'reviewer'])
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
  '2026-12-07-002-campaign-outcomes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('campaigns')
        .addColumn('declined_by', 'text')
        .addColumn('failure', 'text')
        .execute();
      await db.schema.alterTable('review_items').addColumn('superseded_by', 'text').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
