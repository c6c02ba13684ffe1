import type { AuditEvent } from '../domain/audit';
import { auditEventsPage } from '../store/audit';
import * as store from '../store/campaigns';
import type { Db } from '../store/db';

const PAGE = 5_000;

/** Reads everything `next` pages out, PAGE rows at a time, each page after the last one's `seq`. */
async function all<T extends { seq: number }>(next: (after: number) => Promise<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for (let after = 0; ;) {
    const page = await next(after);
    rows.push(...page);
    if (page.length < PAGE) return rows;
    after = page[page.length - 1].seq;
  }
}

const itemOf = (row: store.ReviewItemRow) => ({
  item: row.seq,
  identity: row.identity,
  identityKind: row.identity_kind,
  entitlement: row.entitlement_id,
  system: row.system_id,
  role: row.role,
  login: row.login,
  riskTier: row.risk_tier,
  source: row.source,
  reviewer: row.reviewer,
  delegate: row.delegate,
  escalatedTo: row.escalated_to,
  decision: row.decision,
  reason: row.reason,
  decidedBy: row.decided_by,
  decidedAt: row.decided_at?.toISOString() ?? null,
  remediation: row.remediation,
  remediationError: row.remediation_error,
  remediationAttempts: row.remediation_attempts,
  supersededBy: row.superseded_by,
  remediatedAt: row.remediated_at?.toISOString() ?? null,
});

/**
 * Where the campaign's events sit in the audit log's one chain. `keyward audit verify --anchor`
 * with the last one's hash shows that it is still in the chain, so that it and every event before
 * it, the campaign's included, are as they were written.
 */
const chainOf = (audit: AuditEvent[]) => ({
  events: audit.length,
  firstSeq: audit[0]?.seq ?? null,
  lastSeq: audit.at(-1)?.seq ?? null,
  lastHash: audit.at(-1)?.hash ?? null,
});

/** Every item of a campaign with its decision and remediation, and every audit event about it. */
export async function campaignEvidence(db: Db, campaignId: string) {
  const items = await all((after) => store.itemsPage(db, campaignId, after, PAGE));
  // The audit log is the independent record: the export carries all of it so the two can be
  // compared. Earlier exports are left out: they are about the evidence, and leaving them in
  // would make every export differ from the one before.
  const events: AuditEvent[] = await all((after) =>
    auditEventsPage(db, `campaign/${campaignId}`, after, PAGE),
  );
  const audit = events.filter((event) => event.action !== 'campaign.exported');
  return { items: items.map(itemOf), audit, auditChain: chainOf(audit) };
}
