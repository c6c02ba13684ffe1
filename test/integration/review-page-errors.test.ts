import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { buildApp } from '../../server/app';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import { createTestDatabase, testServers } from '../support/servers';
import type { TestDatabase } from '../support/servers';

const result = validatePolicy({
  version: 1,
  identities: [{ id: 'rita' }, { id: 'sam' }],
  groups: [{ id: 'security', members: ['sam'] }],
});
if (!result.ok) throw new Error(JSON.stringify(result.problems));
const view = new PolicyView(result.policy);
const links = new ReviewLinkSigner(randomBytes(32));
const link = (campaignId: string) =>
  `/review?token=${links.sign({ campaignId, reviewer: 'rita', exp: Math.floor(Date.now() / 1000) + 600 })}`;

let database: TestDatabase;
let connection: Connection;
const apps: FastifyInstance[] = [];

/** keyward's server on `db`, on a loopback port; its base URL. */
async function serve(db: Db): Promise<string> {
  const temporal = new Client({ connection });
  const app = buildApp({
    db,
    temporal,
    policy: () => view,
    taskQueue: 'unused',
    logLevel: 'silent',
    reviewLinks: links,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  database = await createTestDatabase('review');
  connection = await Connection.connect({ address: testServers().address });
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await connection?.close();
  await database?.drop();
}, 60_000);

const isPage = (response: Response) =>
  response.headers.get('content-type')?.startsWith('text/html');

describe('the review page when something goes wrong', () => {
  it('answers a server fault with a plain page that tells nothing of it', async () => {
    // The database is gone for this server: every query fails inside it.
    const db = createDb(database.url, 1);
    await db.destroy();
    const base = await serve(db);

    for (const response of [
      await fetch(`${base}${link('c1')}`),
      await fetch(`${base}/review`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: new URL(link('c1'), base).searchParams.get('token')!,
          item: '1',
          action: 'certify',
        }).toString(),
      }),
    ]) {
      const text = await response.text();
      expect(response.status).toBe(500);
      expect(isPage(response)).toBe(true);
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(text).toContain('Something went wrong');
      expect(text).not.toMatch(/destroyed|driver|kysely|stack|"error"/i);
    }
  });

  it('answers a refusal with a page that says why', async () => {
    const db = createDb(database.url, 1);
    await migrate(db);
    const base = await serve(db);

    const missing = await fetch(`${base}${link('no-such-campaign')}`);
    expect(missing.status).toBe(404);
    expect(isPage(missing)).toBe(true);
    expect(await missing.text()).toContain('no campaign no-such-campaign');

    const [body, mac] = new URL(link('c1'), base).searchParams.get('token')!.split('.');
    const altered = await fetch(`${base}/review?token=${body}x.${mac}`);
    expect(altered.status).toBe(403);
    expect(isPage(altered)).toBe(true);
    expect(await altered.text()).toContain('altered');
    await db.destroy();
  });
});
