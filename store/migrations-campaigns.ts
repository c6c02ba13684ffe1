import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

// The migrations of certification campaigns and their review items.
export const campaignsMigrations: Record<string, Migration> = {
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
