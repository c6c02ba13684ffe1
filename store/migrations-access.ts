import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

// The migrations of requests, grants, the audit log, API tokens and notices.
export const accessMigrations: Record<string, Migration> = {
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
};
