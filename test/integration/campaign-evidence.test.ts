import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import { CampaignService } from '../../server/campaigns';
import { appendAuditEvent, auditEventsPage } from '../../store/audit';
import { createCampaign } from '../../store/campaigns';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
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
    const service = new CampaignService({
      db,
      temporal: new Client({ connection }),
      policy: () => view,
      taskQueue: 'x',
    });
    const { audit } = await service.export('sam', id);
    expect(audit).toHaveLength(100_002);
    expect(new Set(audit.map((e) => e.subject))).toEqual(new Set([`campaign/${id}`]));
    expect(audit.every((e, i) => i === 0 || e.seq > audit[i - 1].seq)).toBe(true);
  }, 120_000);
});
