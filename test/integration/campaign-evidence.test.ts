import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import { PolicyView } from '../../domain/access';
import type { AuditEvent } from '../../domain/audit';
import { validatePolicy } from '../../domain/policy';
import { CampaignService } from '../../server/campaigns';
import { appendAuditEvent, auditEventsPage } from '../../store/audit';
import { createCampaign, markRemediation, replaceItems } from '../../store/campaigns';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import { reviewItem } from '../support/campaign-fixtures';
import { createTestDatabase, testServers } from '../support/servers';
import type { TestDatabase } from '../support/servers';

const result = validatePolicy({
  version: 1,
  identities: [{ id: 'sam' }],
  groups: [{ id: 'security', members: ['sam'] }],
});
if (!result.ok) throw new Error(JSON.stringify(result.problems));
const view = new PolicyView(result.policy);

let database: TestDatabase;
let db: Db;
let connection: Connection;

beforeAll(async () => {
  database = await createTestDatabase('evidence');
  db = createDb(database.url, 2);
  await migrate(db);
  connection = await Connection.connect({ address: testServers().address });
}, 60_000);

afterAll(async () => {
  await db?.destroy();
  await connection?.close();
  await database?.drop();
}, 60_000);

/** `count` events about `subject` appended at once, numbered on from the log's last. */
async function bulkEvents(subject: string, count: number): Promise<void> {
  // Written in one statement for speed; these tests read the events, they do not verify the chain.
  await sql`
    INSERT INTO audit_events (seq, event_key, at, actor, action, subject, approval_path, details, prev_hash, hash)
    SELECT last.seq + g, ${subject} || '/bulk/' || g, now(), 'keyward:campaign', 'campaign.decided', ${subject},
           '[]', '{}', 'x', 'x'
    FROM generate_series(1, ${count}::int) AS g, (SELECT coalesce(max(seq), 0) AS seq FROM audit_events) AS last
  `.execute(db);
}

const service = () =>
  new CampaignService({
    db,
    temporal: new Client({ connection }),
    policy: () => view,
    taskQueue: 'x',
  });

describe('campaign evidence', () => {
  it("pages through one subject's audit events in the order of the chain", async () => {
    for (const [i, subject] of ['campaign/a', 'campaign/b', 'campaign/a', 'campaign/a'].entries()) {
      await appendAuditEvent(db, {
        key: `paging/${i}`,
        actor: 'sam',
        action: 'campaign.noted',
        subject,
      });
    }
    const first = await auditEventsPage(db, 'campaign/a', 0, 2);
    const rest = await auditEventsPage(db, 'campaign/a', first[1].seq, 2);
    expect([...first, ...rest].map((e) => e.key)).toEqual(['paging/0', 'paging/2', 'paging/3']);
  });

  it('exports every audit event of a campaign, however many there are', async () => {
    const id = 'c-many-events';
    await createCampaign(db, { id, name: 'many', spec: {}, createdBy: 'sam' });
    await bulkEvents(`campaign/${id}`, 100_002);
    await bulkEvents('campaign/other', 10);
    const { audit } = await service().export('sam', id);
    expect(audit).toHaveLength(100_002);
    expect(new Set(audit.map((e) => e.subject))).toEqual(new Set([`campaign/${id}`]));
    expect(audit.every((e, i) => i === 0 || e.seq > audit[i - 1].seq)).toBe(true);
  }, 120_000);

  it('names who kept superseded access, counts attempts, places the events in the chain', async () => {
    const id = 'c-chain';
    await createCampaign(db, { id, name: 'chain', spec: {}, createdBy: 'sam' });
    await replaceItems(db, id, [
      reviewItem({ reviewer: 'sam', identity: 'svc-a', decision: 'revoke', reason: 'unused' }),
      reviewItem({ reviewer: 'sam', identity: 'svc-b', decision: 'revoke', reason: 'unused' }),
    ]);
    await markRemediation(db, id, 1, { remediation: 'failed', error: 'refused' });
    await markRemediation(db, id, 1, { remediation: 'revoked' });
    await markRemediation(db, id, 2, { remediation: 'superseded', by: 'req-42' });
    // The campaign's events lie among others' in the one chain.
    const appended: AuditEvent[] = [];
    for (const [i, subject] of [id, 'campaign/other', id, 'campaign/other', id].entries()) {
      appended.push(
        await appendAuditEvent(db, {
          key: `chain/${i}`,
          actor: 'sam',
          action: 'campaign.noted',
          subject: subject === id ? `campaign/${id}` : subject,
        }),
      );
    }
    const mine = appended.filter((e) => e.subject === `campaign/${id}`);

    const { items, auditChain } = await service().export('sam', id);
    expect(items.map((i) => [i.remediation, i.remediationAttempts, i.supersededBy])).toEqual([
      ['revoked', 2, null],
      ['superseded', 1, 'req-42'],
    ]);
    expect(auditChain).toEqual({
      events: 3,
      firstSeq: mine[0].seq,
      lastSeq: mine[2].seq,
      lastHash: mine[2].hash,
    });
    expect(mine[2].seq - mine[0].seq).toBe(4);
  });
});
