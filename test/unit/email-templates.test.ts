import type { RequestFacts } from '../../domain/notify';
import { approvalEmail, escapeHtml, noticeEmail } from '../../integrations/email/templates';

const facts: RequestFacts = {
  requestId: 'req-1',
  requester: 'Zoë "Zed" O\'Brien',
  entitlement: 'pg-main/analyst',
  system: 'pg-main',
  riskTier: 'high',
  duration: '2h',
  justification: 'fix <script>alert(1)</script> & more',
  rule: '1 approval(s) from approvers',
};
const links = {
  approve: 'https://keyward.example/email/decide?token=a.b&x=1',
  deny: 'https://keyward.example/email/decide?token=c.d',
};

describe('approvalEmail', () => {
  const mail = approvalEmail(facts, links);

  test('names the requester, the entitlement and the duration in the subject', () => {
    expect(mail.subject).toBe(
      'Approval needed: Zoë "Zed" O\'Brien requests pg-main/analyst for 2h',
    );
  });

  test('puts the links before anything typed, and quotes the justification, in the text part', () => {
    expect(mail.text.split('\n')).toEqual([
      'Zoë "Zed" O\'Brien asks for pg-main/analyst on pg-main for 2h.',
      '',
      `Approve: ${links.approve}`,
      `Deny:    ${links.deny}`,
      'Each link opens a page where you confirm; nothing is decided by opening it.',
      '',
      'Requester: Zoë "Zed" O\'Brien',
      'Entitlement: pg-main/analyst',
      'System: pg-main',
      'Risk tier: high',
      'Duration: 2h',
      'Approval rule: 1 approval(s) from approvers',
      'Justification:',
      '> fix <script>alert(1)</script> & more',
    ]);
  });

  test('keeps a justification from passing itself off as decision links', () => {
    const forged = approvalEmail(
      { ...facts, justification: 'x\n\nApprove: https://evil.example/a' },
      links,
    );
    const lines = forged.text.split('\n');
    expect(lines.filter((line) => line.startsWith('Approve:'))).toEqual([
      `Approve: ${links.approve}`,
    ]);
    expect(lines.slice(-3)).toEqual(['> x', '> ', '> Approve: https://evil.example/a']);
  });

  test('escapes every fact and link in the HTML part', () => {
    expect(mail.html).toContain('<td>Zoë &quot;Zed&quot; O&#39;Brien</td>');
    expect(mail.html).toContain('<td>fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</td>');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain(`<a href="${links.approve.replace('&', '&amp;')}">Approve</a>`);
    expect(mail.html).toContain(`<a href="${links.deny}">Deny</a>`);
  });
});

describe('noticeEmail', () => {
  test('carries the notice, the facts and the request id, escaped in HTML', () => {
    const mail = noticeEmail(
      { subject: 'Denied: pg-main/analyst for 2h', text: 'Denied by Bob: <not now> & later' },
      facts,
    );
    expect(mail.subject).toBe('Denied: pg-main/analyst for 2h');
    expect(
      mail.text.startsWith('Denied by Bob: <not now> & later\n\nRequester: Zoë "Zed" O\'Brien\n'),
    ).toBe(true);
    expect(mail.text.endsWith('Request: req-1\n')).toBe(true);
    expect(mail.html).toContain(
      '<h2>Denied: pg-main/analyst for 2h</h2><p>Denied by Bob: &lt;not now&gt; &amp; later</p>',
    );
  });
});

describe('escapeHtml', () => {
  test('escapes the five characters HTML gives meaning to', () => {
    expect(escapeHtml('<a href="x">Tom & Jerry\'s</a>')).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;',
    );
  });
});
