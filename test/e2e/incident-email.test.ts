import type { PolicyInput } from '../../domain/policy';
import { LinkSigner } from '../../integrations/email/links';
import { createMailer } from '../../integrations/email/mailer';
import { ApiHarness } from '../support/api-harness';
import { JitHarness } from '../support/jit-harness';
import { targetSystem } from '../support/policies';
import { TestSmtpServer } from '../support/smtp';
import { waitFor } from '../support/wait';

const smtp = new TestSmtpServer();
const PUBLIC_URL = 'http://keyward.example.test';

function policy(): PolicyInput {
  return {
    version: 1,
    identities: [
      { id: 'olivia', email: 'olivia@example.test' },
      { id: 'dana', email: 'dana@example.test' },
      { id: 'erin', email: 'erin@example.test' },
      { id: 'frank', email: 'frank@example.test' },
      { id: 'svc-mail', kind: 'non-human', owner: 'olivia' },
    ],
    // Three, so that an incident about one of them can still be restored by the other two.
    groups: [{ id: 'security', members: ['dana', 'erin', 'frank'] }],
    systems: [targetSystem],
  };
}

let harness: JitHarness;
let api: ApiHarness;

beforeAll(async () => {
  await smtp.start();
  harness = JitHarness.fromDocument(policy());
  harness.channels = {
    mail: {
      mailer: createMailer({ from: 'keyward <keyward@example.test>', smtpUrl: smtp.url }),
      links: new LinkSigner(harness.encryptionKey),
      publicUrl: PUBLIC_URL,
    },
  };
  await harness.start();
  api = await ApiHarness.start(harness, { links: true });
});

afterAll(async () => {
  await api?.close();
  await harness?.stop();
  await smtp.stop();
});

/** The restore link in the latest restore email to `address`, pointed at the test server. */
async function restoreLink(address: string): Promise<string> {
  const mail = await waitFor(`the restore email to ${address}`, () =>
    smtp.to(address).find((m) => String(m.parsed.text).includes('Approve the restore')),
  );
  const link = /(http\S+\/email\/incident-restore\?token=\S+)/.exec(String(mail.parsed.text))![1];
  return link.replace(PUBLIC_URL, api.baseUrl);
}

const post = (token: string) =>
  fetch(`${api.baseUrl}/email/incident-restore`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });

describe('restore approval by email', () => {
  test('sends each eligible approver a link that approves once, after a confirmation page', async () => {
    const opened = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'svc-mail', reason: 'leak' });
    const id: string = opened.body.id;
    const danaLink = await restoreLink('dana@example.test');
    const erinLink = await restoreLink('erin@example.test');
    // The owner hears of the incident but is not asked to approve.
    await waitFor('the notice to the owner', () => smtp.to('olivia@example.test').length >= 2);
    expect(
      smtp
        .to('olivia@example.test')
        .some((m) => String(m.parsed.text).includes('Approve the restore')),
    ).toBe(false);

    const confirm = await fetch(danaLink);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Approve this restore?');
    expect((await api.as('dana').get(`/v1/incidents/${id}`)).body.approvals).toEqual([]);

    const danaToken = new URL(danaLink).searchParams.get('token')!;
    expect((await post(`${danaToken}x`)).status).toBe(400);
    const approved = await post(danaToken);
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Approved as dana');
    expect((await post(danaToken)).status).toBe(409);

    const restored = await post(new URL(erinLink).searchParams.get('token')!);
    // The second approval answers once it is recorded; the restore follows.
    expect(await restored.text()).toContain('RESTORING');
    await waitFor(
      'the restore',
      async () => (await api.as('erin').get(`/v1/incidents/${id}`)).body.status === 'RESTORED',
    );
    const report = (await api.as('erin').get(`/v1/incidents/${id}/report`)).body;
    expect(report.approvals.map((a: { approver: string }) => a.approver)).toEqual(['dana', 'erin']);
  });

  test('refuses the link of an approver who has since been quarantined, and records nothing', async () => {
    const opened = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'svc-mail', reason: 'leak again' });
    const id: string = opened.body.id;
    const link = await waitFor('a second restore email to frank', async () => {
      const mails = smtp.to('frank@example.test').filter((m) => String(m.parsed.text).includes(id));
      return mails.find((m) => String(m.parsed.text).includes('Approve the restore'));
    });
    const token = /token=(\S+)/.exec(String(link.parsed.text))![1];
    const against = await api
      .as('dana')
      .post('/v1/incidents', { identity: 'frank', reason: 'phished' });
    expect(against.status).toBe(201);

    const refused = await post(token);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain(
      `frank is quarantined by incident ${against.body.id} and may decide nothing`,
    );
    expect((await api.as('dana').get(`/v1/incidents/${id}`)).body.approvals).toEqual([]);
  });

  test('answers a restore link without a token, or with two, with the link page', async () => {
    for (const query of ['', '?token=a&token=b']) {
      const response = await fetch(`${api.baseUrl}/email/incident-restore${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(await response.text()).toContain('Link not valid');
    }
  });

  test('refuses a restore link on the request decision page', async () => {
    const link = new LinkSigner(harness.encryptionKey).sign({
      requestId: '00000000-0000-4000-8000-000000000000',
      approver: 'dana',
      decision: 'approve',
      exp: Math.floor(Date.now() / 1000) + 600,
      kind: 'incident-restore',
    });
    const response = await fetch(`${api.baseUrl}/email/decide?token=${link}`);
    expect(response.status).toBe(400);
  });
});
