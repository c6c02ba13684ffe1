import { randomBytes } from 'node:crypto';
import { LinkSigner } from '../../integrations/email/links';
import {
  ApprovalsHarness,
  approvalsPolicy,
  decisionLinks,
  pageForm,
} from '../support/approvals-harness';
import { uniqueName } from '../support/servers';
import type { ReceivedMail } from '../support/smtp';
import { waitFor } from '../support/wait';

const { policy, slackEmails, roles, logins } = approvalsPolicy();
const reader = uniqueName('reader');
const zoeLogin = uniqueName('zoe');
const zoeName = 'Zoë "Zed" Ångström-O\'Brien 東京';
policy.identities.push(
  { id: 'zoe', name: zoeName, email: 'zoe@example.test', logins: { target: zoeLogin } },
  // A display name that tries to start a header of its own.
  { id: 'robert', name: 'Bob\r\nBcc: evil@example.test', email: 'robert@example.test' },
);
policy.groups!.push({ id: 'night-shift', members: ['robert'] });
policy.entitlements!.push({
  id: 'target/reader',
  system: 'target',
  role: reader,
  maxDuration: '1h',
  approval: { required: 1, from: ['night-shift'] },
});
const from = 'Kéyward “Zugang” <keyward@example.test>';
const harness = new ApprovalsHarness(policy, { slackEmails, from });

const html = (mail: ReceivedMail) => String(mail.parsed.html);
const headerSection = (mail: ReceivedMail) => mail.raw.slice(0, mail.raw.indexOf('\r\n\r\n'));
const page = async (response: Response) => ({
  status: response.status,
  body: await response.text(),
});

/** Nothing was decided: the request still waits and the role is not granted. */
async function expectUndecided(requestId: string, role = roles.analyst, login = logins.alice) {
  const state = await harness.status(requestId);
  expect(state.status).toBe('PENDING');
  expect(state.approvals).toEqual([]);
  expect(state.denial).toBeUndefined();
  expect(await harness.jit.isMember(role, login)).toBe(false);
}

beforeAll(async () => {
  await harness.start();
  await harness.jit.createRoles(
    { name: roles.analyst },
    { name: reader },
    { name: logins.alice, login: true },
    { name: zoeLogin, login: true },
  );
});

afterEach(() => harness.finish());

afterAll(() => harness.stop());

describe('approvals through email links', () => {
  test('mails each approver the facts in HTML and text, with Approve and Deny links of their own', async () => {
    const { requestId } = await harness.request();

    for (const [approver, address, name] of [
      ['bob', 'bob@example.test', 'Bob Example'],
      ['carol', 'carol@example.test', 'Carol Example'],
    ]) {
      const mail = await harness.approvalMail(address, requestId);
      expect(mail.envelopeTo).toEqual([address]);
      expect(mail.parsed.to).toMatchObject({ value: [{ name, address }] });
      expect(mail.parsed.subject).toBe(
        'Approval needed: Alice Example requests target/analyst for 10m',
      );
      const facts = [
        ['Requester', 'Alice Example'],
        ['Entitlement', 'target/analyst'],
        ['System', 'target'],
        ['Risk tier', 'medium'],
        ['Duration', '10m'],
        ['Approval rule', '1 approval(s) from approvers'],
      ];
      expect(mail.parsed.text).toContain('\nJustification:\n> ticket 4411');
      expect(html(mail)).toContain('>Justification</th><td>ticket 4411</td>');
      for (const [label, value] of facts) {
        expect(mail.parsed.text).toContain(`\n${label}: ${value}\n`);
        expect(html(mail)).toContain(`>${label}</th><td>${value}</td>`);
      }

      const links = decisionLinks(mail, harness.links);
      expect(links.approve.claims).toMatchObject({ requestId, approver, decision: 'approve' });
      expect(links.deny.claims).toMatchObject({ requestId, approver, decision: 'deny' });
      const deadline = Date.parse((await harness.status(requestId)).approvalDeadline);
      expect(links.approve.claims.exp).toBe(Math.floor(deadline / 1000));
      expect(links.approve.url).toBe(
        `${harness.baseUrl}/email/decide?token=${links.approve.token}`,
      );
      const hrefs = [...html(mail).matchAll(/<a href="([^"]+)">(Approve|Deny)<\/a>/g)].map(
        ([, href, label]) => [label, href],
      );
      expect(hrefs).toEqual([
        ['Approve', links.approve.url],
        ['Deny', links.deny.url],
      ]);
    }
  });

  test('shows a confirmation page on GET, approves when its form is posted, and refuses a replay', async () => {
    const { requestId } = await harness.request();
    const { approve } = decisionLinks(
      await harness.approvalMail('bob@example.test', requestId),
      harness.links,
    );

    const opened = await harness.open(approve.url);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toMatch(/^text\/html/);
    expect(opened.headers.get('referrer-policy')).toBe('no-referrer');
    expect(opened.headers.get('cache-control')).toBe('no-store');
    const confirmation = await opened.text();
    expect(confirmation).toContain('<h2>Approve this request?</h2>');
    expect(confirmation).toContain('You are deciding as <b>bob</b>');
    // Opening the link (as a mail scanner would) decides nothing.
    await expectUndecided(requestId);

    const form = pageForm(confirmation);
    expect(form).toEqual({
      method: 'post',
      action: '/email/decide',
      fields: { token: approve.token },
    });
    const approved = await page(await harness.post(form.action, form.fields));
    expect(approved.status).toBe(200);
    expect(approved.body).toContain('Approved as bob. The request is now GRANTED.');
    expect(await harness.jit.isMember(roles.analyst, logins.alice)).toBe(true);

    const replayed = await page(await harness.post(form.action, form.fields));
    expect(replayed.status).toBe(409);
    expect(replayed.body).toContain('<h2>Link already used</h2>');
    expect(replayed.body).toContain('This link has already been used; a link decides once.');
    const state = await harness.status(requestId);
    expect(state.status).toBe('GRANTED');
    expect(state.approvals.map((a) => a.approver)).toEqual(['bob']);

    // Opened again, the used link says so at once instead of offering a button that cannot work.
    const reopened = await page(await harness.open(approve.url));
    expect(reopened.status).toBe(409);
    expect(reopened.body).toContain('<h2>Link already used</h2>');
    expect(reopened.body).not.toContain('<form');
    // Carol's link, never used, has nothing left to decide either.
    const { approve: carols } = decisionLinks(
      await harness.approvalMail('carol@example.test', requestId),
      harness.links,
    );
    const late = await page(await harness.open(carols.url));
    expect(late.status).toBe(409);
    expect(late.body).toContain('This request is already granted.');
  });

  test('refuses altered, expired and foreign links with a page that says why, and decides nothing', async () => {
    const { requestId } = await harness.request();
    const { approve } = decisionLinks(
      await harness.approvalMail('bob@example.test', requestId),
      harness.links,
    );
    const [body, mac] = approve.token.split('.');
    const flipped = `${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`;
    const claims = { requestId, approver: 'bob', decision: 'approve' as const };
    const otherApprover = Buffer.from(
      JSON.stringify({ ...approve.claims, approver: 'carol' }),
    ).toString('base64url');

    const cases = [
      {
        what: 'a flipped signature character',
        token: `${body}.${flipped}`,
        says: 'not issued by this keyward, or it was altered',
      },
      {
        what: 'claims changed under the signature',
        token: `${otherApprover}.${mac}`,
        says: 'not issued by this keyward, or it was altered',
      },
      {
        what: 'an expired link',
        token: harness.links.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }),
        says: 'This link has expired',
      },
      {
        what: 'a link signed with another key',
        token: new LinkSigner(randomBytes(32)).sign({ ...claims, exp: approve.claims.exp }),
        says: 'not issued by this keyward, or it was altered',
      },
      { what: 'a truncated link', token: body, says: 'This link is incomplete or damaged' },
    ];
    for (const { what, token, says } of cases) {
      const opened = await page(
        await harness.open(`${harness.baseUrl}/email/decide?token=${encodeURIComponent(token)}`),
      );
      expect({ what, ...opened }).toMatchObject({ what, status: 400 });
      expect(opened.body).toContain('<h2>Link not valid</h2>');
      expect(opened.body).toContain(says);
      const posted = await page(await harness.post('/email/decide', { token }));
      expect({ what, ...posted }).toMatchObject({ what, status: 400 });
      expect(posted.body).toContain(says);
    }
    for (const query of ['', `?token=${approve.token}&token=${approve.token}`]) {
      const opened = await page(await harness.open(`${harness.baseUrl}/email/decide${query}`));
      expect({ query, ...opened }).toMatchObject({ query, status: 400 });
      expect(opened.body).toContain('This link is incomplete or damaged');
    }
    await expectUndecided(requestId);

    // The genuine link was never spent by the refused ones.
    const approved = await harness.post('/email/decide', { token: approve.token });
    expect(approved.status).toBe(200);
  });

  test('refuses a deny link posted without a reason, and denies with one', async () => {
    const { requestId } = await harness.request();
    const { deny } = decisionLinks(
      await harness.approvalMail('carol@example.test', requestId),
      harness.links,
    );

    const confirmation = await (await harness.open(deny.url)).text();
    expect(confirmation).toContain('<h2>Deny this request?</h2>');
    expect(confirmation).toContain('<textarea name="reason"');
    const form = pageForm(confirmation);
    for (const reason of [undefined, '   ']) {
      const refused = await page(
        await harness.post(form.action, {
          ...form.fields,
          ...(reason === undefined ? {} : { reason }),
        }),
      );
      expect(refused.status).toBe(400);
      expect(refused.body).toContain('<h2>A reason is needed</h2>');
    }
    await expectUndecided(requestId);

    const denied = await page(
      await harness.post(form.action, { ...form.fields, reason: 'no ticket for this' }),
    );
    expect(denied.status).toBe(200);
    expect(denied.body).toContain('Denied as carol. The request is now DENIED.');
    expect((await harness.status(requestId)).denial).toMatchObject({
      approver: 'carol',
      reason: 'no ticket for this',
    });
    const told = await harness.mail('alice@example.test', 'Denied: target/analyst for 10m', (m) =>
      Boolean(m.parsed.text?.includes(requestId)),
    );
    expect(told.parsed.text).toContain('was denied by Carol Example: no ticket for this');
  });

  test('keeps a line break in a display name out of the headers, and unicode names intact', async () => {
    const { requestId } = await harness.request({
      requester: 'zoe',
      entitlementId: 'target/reader',
      reason: 'löst Ticket „4411“',
    });

    const mail = await harness.approvalMail('robert@example.test', requestId);
    expect(mail.envelopeTo).toEqual(['robert@example.test']);
    expect(headerSection(mail)).not.toMatch(/^bcc:/im);
    expect(mail.parsed.headers.has('bcc')).toBe(false);
    expect(mail.parsed.bcc).toBeUndefined();
    expect(mail.parsed.to).toMatchObject({
      value: [{ name: 'Bob Bcc: evil@example.test', address: 'robert@example.test' }],
    });
    expect((mail.parsed.to as { value: unknown[] }).value).toHaveLength(1);
    expect(mail.parsed.subject).toBe(`Approval needed: ${zoeName} requests target/reader for 10m`);
    expect(mail.parsed.from).toMatchObject({
      value: [{ name: 'Kéyward “Zugang”', address: 'keyward@example.test' }],
    });
    expect(mail.parsed.text).toContain(`Requester: ${zoeName}\n`);
    expect(mail.parsed.text).toContain('Justification:\n> löst Ticket „4411“');
    expect(html(mail)).toContain('<td>Zoë &quot;Zed&quot; Ångström-O&#39;Brien 東京</td>');

    const { approve } = decisionLinks(mail, harness.links);
    expect((await harness.post('/email/decide', { token: approve.token })).status).toBe(200);
    const granted = await harness.mail('zoe@example.test', 'Granted: target/reader for 10m', (m) =>
      Boolean(m.parsed.text?.includes(requestId)),
    );
    const approved = await harness.mail(
      'zoe@example.test',
      'Approved: target/reader for 10m',
      (m) => Boolean(m.parsed.text?.includes(requestId)),
    );
    for (const notice of [approved, granted]) {
      expect(notice.envelopeTo).toEqual(['zoe@example.test']);
      expect(notice.parsed.to).toMatchObject({
        value: [{ name: zoeName, address: 'zoe@example.test' }],
      });
      expect(headerSection(notice)).not.toMatch(/^bcc:/im);
    }
    await waitFor('every mail delivered', () => harness.smtp.received.length > 0);
    expect(
      harness.smtp.received.filter((m) => m.envelopeTo.some((to) => to.includes('evil'))),
    ).toEqual([]);
    for (const received of harness.smtp.received) {
      expect(received.parsed.subject).not.toMatch(/[\r\n]/);
      expect(headerSection(received).match(/^subject:/gim)).toHaveLength(1);
    }
  });
});
