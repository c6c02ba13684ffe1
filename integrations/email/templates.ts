import type { RequestFacts } from '../../domain/notify';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function factRows(facts: RequestFacts): [string, string][] {
  return [
    ['Requester', facts.requester],
    ['Entitlement', facts.entitlement],
    ['System', facts.system],
    ['Risk tier', facts.riskTier],
    ['Duration', facts.duration],
    ['Justification', facts.justification],
    ['Approval rule', facts.rule],
  ];
}

function page(title: string, body: string): string {
  return (
    `<!doctype html><html><body style="font-family:sans-serif;max-width:640px">` +
    `<h2>${escapeHtml(title)}</h2>${body}<p style="color:#666;font-size:12px">Sent by keyward.</p></body></html>`
  );
}

function factTable(facts: RequestFacts): string {
  return rowsTable(factRows(facts));
}

function rowsTable(rows: [string, string][]): string {
  const cells = rows
    .map(
      ([k, v]) =>
        `<tr><th align="left" style="padding-right:12px">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
    )
    .join('');
  return `<table>${cells}</table>`;
}

/** The approval request: the same facts as the Slack message, and a link per decision. */
export function approvalEmail(facts: RequestFacts, links: { approve: string; deny: string }) {
  const subject = `Approval needed: ${facts.requester} requests ${facts.entitlement} for ${facts.duration}`;
  // The links come before anything the requester typed, and what they typed is quoted line by
  // line, so a justification cannot pass itself off as keyward's own text or links.
  const text = [
    `${facts.requester} asks for ${facts.entitlement} on ${facts.system} for ${facts.duration}.`,
    '',
    `Approve: ${links.approve}`,
    `Deny:    ${links.deny}`,
    'Each link opens a page where you confirm; nothing is decided by opening it.',
    '',
    ...factRows(facts)
      .filter(([k]) => k !== 'Justification')
      .map(([k, v]) => `${k}: ${v}`),
    'Justification:',
    ...facts.justification.split(/\r?\n/).map((line) => `> ${line}`),
  ].join('\n');
  const html = page(
    'Approval needed',
    `${factTable(facts)}<p><a href="${escapeHtml(links.approve)}">Approve</a> &nbsp; ` +
      `<a href="${escapeHtml(links.deny)}">Deny</a></p>` +
      '<p>Each link opens a page where you confirm; nothing is decided by opening it.</p>',
  );
  return { subject, text, html };
}

/** A notice to the requester about their request. */
export function noticeEmail(notice: { subject: string; text: string }, facts: RequestFacts) {
  const text = `${notice.text}\n\n${factRows(facts)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\nRequest: ${facts.requestId}\n`;
  const html = page(notice.subject, `<p>${escapeHtml(notice.text)}</p>${factTable(facts)}`);
  return { subject: notice.subject, text, html };
}

export { escapeHtml };

/** A notice that is not about one request: a line of text and its facts as label and value. */
export function factsEmail(notice: { subject: string; text: string; facts: [string, string][] }) {
  const text = `${notice.text}\n\n${notice.facts.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
  const html = page(notice.subject, `<p>${escapeHtml(notice.text)}</p>${rowsTable(notice.facts)}`);
  return { subject: notice.subject, text, html };
}

/** The request to approve an incident's restore, with the signed link of one approver. */
export function restoreApprovalEmail(
  notice: { subject: string; text: string; facts: [string, string][] },
  link: string,
) {
  const base = factsEmail(notice);
  const text = `${base.text}\nApprove the restore: ${link}\n`;
  const html = page(
    notice.subject,
    `<p>${escapeHtml(notice.text)}</p>${rowsTable(notice.facts)}` +
      `<p><a href="${escapeHtml(link)}">Approve the restore</a></p>` +
      '<p>The link opens a page where you confirm; nothing is decided by opening it.</p>',
  );
  return { subject: notice.subject, text, html };
}
