import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { createCampaignNotifyActivities } from '../../activities/campaign-notify';
import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import { createMailer } from '../../integrations/email/mailer';
import { reviewLinkClaims, ReviewLinkSigner } from '../../integrations/email/review-links';
import { SlackDirectory } from '../../integrations/slack/directory';
import { buildApp } from '../../server/app';
import { createCampaign, replaceItems, updateCampaign } from '../../store/campaigns';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import { mintToken } from '../../store/tokens';
import { reviewItem } from '../support/campaign-fixtures';
import { FakeSlack } from '../support/fake-slack';
import { createTestDatabase, testServers } from '../support/servers';
import type { TestDatabase } from '../support/servers';
import { TestSmtpServer } from '../support/smtp';

const result = validatePolicy({
  version: 1,
  identities: [
    { id: 'rita', email: 'rita@example.test', slackUserId: 'U0RITA' },
    { id: 'dana', email: 'dana@example.test' },
    { id: 'sam', email: 'sam@example.test' },
  ],
  groups: [{ id: 'security', members: ['sam'] }],
});
if (!result.ok) throw new Error(JSON.stringify(result.problems));
const view = new PolicyView(result.policy);
const links = new ReviewLinkSigner(randomBytes(32));
const deadlineAt = new Date(Date.now() + 3_600_000).toISOString();

// More than the 10,000 items a reviewer's list used to stop at.
const MANY = 10_050;

let database: TestDatabase;
let db: Db;
let connection: Connection;
let app: FastifyInstance;
let base: string;
const smtp = new TestSmtpServer();
const slack = new FakeSlack();

beforeAll(async () => {
  database = await createTestDatabase('paging');
  db = createDb(database.url, 4);
  await migrate(db);
  connection = await Connection.connect({ address: testServers().address });
  app = buildApp({
    db,
    temporal: new Client({ connection }),
    policy: () => view,
    taskQueue: 'unused',
    logLevel: 'silent',
    reviewLinks: links,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await smtp.start();
  await slack.start();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await smtp.stop();
  await slack.stop();
  await db?.destroy();
  await connection?.close();
  await database?.drop();
}, 60_000);

/**
 * rita reviews MANY people (every twentieth item of high risk, the first three delegated to dana),
 * and two of dana's items were escalated to her, as was one of rita's own access, which she never
 * sees. One more of dana's is none of hers.
 */
async function bigCampaign(id: string): Promise<void> {
  await createCampaign(db, { id, name: `Big ${id}`, spec: {}, createdBy: 'sam' });
  await updateCampaign(db, id, { status: 'REVIEWING', deadlineAt });
  const person = (n: number) => `person-${String(n).padStart(5, '0')}`;
  await replaceItems(db, id, [
    ...Array.from({ length: MANY }, (_, i) =>
      reviewItem({
        reviewer: 'rita',
        identity: person(i + 1),
        risk_tier: (i + 1) % 20 === 0 ? 'high' : 'low',
        delegate: i < 3 ? 'dana' : null,
      }),
    ),
    reviewItem({ reviewer: 'dana', identity: 'svc-a', escalated_to: 'rita' }),
    reviewItem({ reviewer: 'dana', identity: 'svc-b', escalated_to: 'rita' }),
    reviewItem({ reviewer: 'dana', identity: 'rita', escalated_to: 'rita' }),
    reviewItem({ reviewer: 'dana', identity: 'svc-c' }),
  ]);
}

const decideUpTo = (id: string, lastSeq: number) =>
  db
    .updateTable('review_items')
    .set({ decision: 'certify', decided_by: 'rita', decided_at: new Date() })
    .where('campaign_id', '=', id)
    .where('seq', '<=', lastSeq)
    .execute();

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const token = (id: string) => links.sign(reviewLinkClaims(id, 'rita', deadlineAt));
const open = async (id: string, query = '') =>
  (await fetch(`${base}/review?token=${token(id)}${query}`)).text();
/** The page's text as a reader sees it, tags taken out. */
const words = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const shownItems = (html: string) =>
  [...html.matchAll(/<tr data-item="(\d+)"/g)].map((match) => Number(match[1]));
/** Where the page's link named `label` leads. */
const linkNamed = (html: string, label: string) =>
  [...html.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)]
    .find((match) => match[2] === label)?.[1]
    .replace(/&amp;/g, '&');

describe('a review page longer than ten thousand items', () => {
  const id = 'c-paged';
  beforeAll(() => bigCampaign(id), 60_000);

  it('shows every item a page at a time, with counts over all of them', async () => {
    const first = await open(id);
    expect(words(first)).toContain(
      '10,049 of 10,052 items pending your decision. ' +
        '3 more wait for the people you delegated them to.',
    );
    expect(words(first)).toContain('Items 1-200 of 10,052.');
    expect(shownItems(first)).toEqual(range(1, 200));
    expect(words(first).match(/pending \(delegated to dana\)/g)).toHaveLength(3);

    const last = await open(id, '&page=51');
    expect(words(last)).toContain('Items 10,001-10,052 of 10,052.');
    expect(shownItems(last)).toEqual(range(10_001, 10_052));
    expect(words(last)).toContain('10,049 of 10,052 items pending your decision.');

    // A page past the end, as an old link may name, shows the last one.
    expect(shownItems(await open(id, '&page=90'))).toEqual(range(10_001, 10_052));
  });

  it('keeps the filter on every page it links to', async () => {
    const first = await open(id, '&filter=HIGH');
    expect(words(first)).toContain('Items 1-200 of 502 matching "HIGH".');
    const next = linkNamed(first, 'Next');
    expect(next).toContain('filter=HIGH');
    const second = await (await fetch(`${base}${next}`)).text();
    expect(words(second)).toContain('Items 201-400 of 502 matching "HIGH".');
    expect(shownItems(second)).toHaveLength(200);
    expect(shownItems(second).every((seq) => seq % 20 === 0)).toBe(true);
  });

  it('answers a bulk form with the page and the filter it was posted from', async () => {
    const answer = await fetch(`${base}/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: token(id),
        filter: 'high',
        page: '3',
        action: 'certify',
      }).toString(),
    });
    expect(answer.status).toBe(400);
    const text = await answer.text();
    expect(words(text)).toContain('Select at least one item.');
    expect(words(text)).toContain('Items 401-502 of 502 matching "high".');
    expect(text).toContain('<input type="hidden" name="page" value="3">');
  });

  it('gives the API a page at a time, with the total', async () => {
    const auth = { authorization: `Bearer ${await mintToken(db, 'rita', 'test')}` };
    const page = await fetch(`${base}/v1/campaigns/${id}/items?offset=10000`, { headers: auth });
    const body = (await page.json()) as { items: { seq: number }[]; total: number };
    expect(body.total).toBe(10_052);
    expect(body.items.map((item) => item.seq)).toEqual(range(10_001, 10_052));
    const tooMany = await fetch(`${base}/v1/campaigns/${id}/items?limit=5000`, { headers: auth });
    expect(tooMany.status).toBe(400);
  });
});

describe('reminders to a reviewer with more than ten thousand items', () => {
  const id = 'c-reminded';
  beforeAll(() => bigCampaign(id), 60_000);

  const activities = () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.url });
    return createCampaignNotifyActivities({
      db,
      policy: () => view,
      slack: { client, directory: new SlackDirectory(() => view, client) },
      mail: {
        mailer: createMailer({ from: 'keyward@example.test', smtpUrl: smtp.url }),
        publicUrl: 'http://keyward.test',
      },
      reviewLinks: links,
      publicUrl: 'http://keyward.test',
    });
  };
  const remind = (round: number) =>
    new MockActivityEnvironment().run(activities().noticeReviewer, {
      campaignId: id,
      reviewerId: 'rita',
      kind: 'reminder' as const,
      round,
    });
  const mails = () =>
    smtp.to('rita@example.test').filter((m) => m.parsed.subject === `Access review: Big ${id}`);
  const messages = () =>
    slack.posted((m) => m.channel === 'U0RITA' && JSON.stringify(m.blocks).includes(id));
  const buttons = (blocks: unknown) =>
    (blocks as { elements?: { action_id: string; value: string }[] }[])
      .flatMap((block) => block.elements ?? [])
      .filter((element) => element.action_id === 'campaign_certify')
      .map((element) => (JSON.parse(element.value) as { seq: number }).seq);

  it('counts what is still pending after the first ten thousand are decided', async () => {
    await decideUpTo(id, 10_000);
    await remind(1);
    expect(mails().map((m) => m.parsed.text?.split('\n')[0])).toEqual([
      'Reminder: 52 access items still wait for your review.',
    ]);
    // Too many for buttons: the message links to the review page only.
    expect(buttons(messages()[0].args.blocks)).toEqual([]);

    await decideUpTo(id, 10_048);
    await remind(2);
    expect(mails()[1].parsed.text?.split('\n')[0]).toBe(
      'Reminder: 4 access items still wait for your review.',
    );
    expect(buttons(messages()[1].args.blocks)).toEqual([10_049, 10_050, 10_051, 10_052]);
  });
});
