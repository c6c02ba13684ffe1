import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCampaignNotifyActivities } from '../../activities/campaign-notify';
import type { ReviewNotice } from '../../activities/campaign-notify';
import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import { createMailer } from '../../integrations/email/mailer';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { createCampaign, replaceItems, updateCampaign } from '../../store/campaigns';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import { reviewItem } from '../support/campaign-fixtures';
import { createTestDatabase } from '../support/servers';
import type { TestDatabase } from '../support/servers';
import { TestSmtpServer } from '../support/smtp';

const people = ['mia', 'dana', 'erin', 'sam'];
const result = validatePolicy({
  version: 1,
  identities: people.map((id) => ({ id, email: `${id}@example.test` })),
  groups: [{ id: 'security', members: ['sam'] }],
});
if (!result.ok) throw new Error(JSON.stringify(result.problems));
const view = new PolicyView(result.policy);

let database: TestDatabase;
let db: Db;
const smtp = new TestSmtpServer();

beforeAll(async () => {
  database = await createTestDatabase('notices');
  db = createDb(database.url, 2);
  await migrate(db);
  await smtp.start();
}, 60_000);

afterAll(async () => {
  await smtp.stop();
  await db?.destroy();
  await database?.drop();
}, 60_000);

/** dana's and erin's items, escalated to their manager mia; two more of dana's delegated to sam. */
async function campaign(id: string): Promise<void> {
  await createCampaign(db, { id, name: `Notices ${id}`, spec: {}, createdBy: 'sam' });
  const deadlineAt = new Date(Date.now() + 3_600_000).toISOString();
  await updateCampaign(db, id, { status: 'REVIEWING', deadlineAt });
  await replaceItems(db, id, [
    reviewItem({ reviewer: 'dana', identity: 'svc-a', escalated_to: 'mia' }),
    reviewItem({ reviewer: 'erin', identity: 'svc-b', escalated_to: 'mia' }),
    reviewItem({ reviewer: 'dana', identity: 'svc-c', delegate: 'sam' }),
    reviewItem({ reviewer: 'dana', identity: 'svc-d', delegate: 'sam' }),
  ]);
}

/** Runs the notice as an activity of a workflow run, `activityId` its number in that run. */
function notice(notice: ReviewNotice, activityId = '1') {
  const activities = createCampaignNotifyActivities({
    db,
    policy: () => view,
    mail: {
      mailer: createMailer({ from: 'keyward@example.test', smtpUrl: smtp.url }),
      publicUrl: 'http://keyward.test',
    },
    reviewLinks: new ReviewLinkSigner(randomBytes(32)),
    publicUrl: 'http://keyward.test',
  });
  const workflowExecution = {
    workflowId: `campaign/${notice.campaignId}/reviewer/dana`,
    runId: 'r1',
  };
  return new MockActivityEnvironment({ activityId, workflowExecution }).run(
    activities.noticeReviewer,
    notice,
  );
}

const headlines = (to: string, id: string) =>
  smtp
    .to(`${to}@example.test`)
    .filter((mail) => mail.parsed.subject === `Access review: Notices ${id}`)
    .map((mail) => mail.parsed.text?.split('\n')[0]);

describe('escalation and delegation notices', () => {
  it('tell a manager of every reviewer escalated to them, each once', async () => {
    const id = 'c-escalated';
    await campaign(id);
    const escalated = (from: string) =>
      notice({ campaignId: id, reviewerId: 'mia', kind: 'escalated', from });
    await escalated('dana');
    await escalated('erin');
    // A retried activity sends nothing again.
    await escalated('dana');
    expect(headlines('mia', id)).toEqual([
      "dana's pending access items were escalated to you; 2 wait for your review.",
      "erin's pending access items were escalated to you; 2 wait for your review.",
    ]);
  });

  it('tell a delegate of every delegation, a second one from the same person too', async () => {
    const id = 'c-delegated';
    await campaign(id);
    const delegated = {
      campaignId: id,
      reviewerId: 'sam',
      kind: 'delegated',
      from: 'dana',
    } as const;
    // Without a count from the workflow, each delegation's own activity tells them apart.
    await notice(delegated, '7');
    await notice(delegated, '7');
    await notice(delegated, '12');
    // With one, the count does, whichever activity carries it.
    await notice({ ...delegated, round: 3 }, '20');
    await notice({ ...delegated, round: 3 }, '21');
    expect(headlines('sam', id)).toEqual(
      Array(3).fill('dana delegated access items to you; 2 wait for your review.'),
    );
  });
});
