import { escapeHtml } from '../../integrations/email/templates';
import type { ActorCounts, CampaignRecord, ReviewItemRow } from '../../store/campaigns';

/** Items a page shows: a screenful to work through, well inside what one bulk decision may name. */
export const PAGE_SIZE = 200;

export const pageCount = (items: number) => Math.max(1, Math.ceil(items / PAGE_SIZE));

/** A page number from a link or a form; anything else is the first page. */
export const pageNumber = (text: unknown) =>
  typeof text === 'string' && /^[1-9]\d{0,5}$/.test(text) ? Number(text) : 1;

export interface ReviewView {
  token: string;
  reviewer: string;
  campaign: CampaignRecord;
  /** The items of this page, `PAGE_SIZE` at most. */
  items: ReviewItemRow[];
  counts: ActorCounts;
  filter: string;
  page: number;
  notice: string;
}

const count = (n: number) => n.toLocaleString('en-US');
const when = (date: Date | null) =>
  date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'unknown';
const obtained = (item: ReviewItemRow) =>
  item.source === 'grant' ? 'keyward grant' : 'standing membership';

function row(item: ReviewItemRow, reviewer: string): string {
  const cells = [item.identity, item.entitlement_id, item.system_id, item.risk_tier, obtained(item)]
    .map((text) => `<td>${escapeHtml(text)}</td>`)
    .join('');
  const last = `<td>${escapeHtml(when(item.last_granted_at))}</td>`;
  if (item.decision) {
    const by = item.decided_by ? ` by ${escapeHtml(item.decided_by)}` : '';
    const decided = `<td>${escapeHtml(item.decision)}${by}</td>`;
    const reason = `<td>${escapeHtml(item.reason ?? '')}</td>`;
    return `<tr class="done"><td></td><td>${item.seq}</td>${cells}${last}${decided}${reason}</tr>`;
  }
  // What the reviewer delegated waits for its delegate, who decides it; it is shown, not offered.
  if (item.delegate && item.delegate !== reviewer && item.escalated_to !== reviewer) {
    const pending = `<td>pending (delegated to ${escapeHtml(item.delegate)})</td>`;
    return `<tr data-item="${item.seq}"><td></td><td>${item.seq}</td>${cells}${last}${pending}<td></td></tr>`;
  }
  return (
    `<tr data-item="${item.seq}">` +
    `<td><input type="checkbox" name="item" value="${item.seq}" aria-label="select item ${item.seq}"></td>` +
    `<td>${item.seq}</td>${cells}${last}<td>pending</td>` +
    `<td><input type="text" name="reason-${item.seq}" placeholder="reason to revoke" maxlength="2000"></td></tr>`
  );
}

/** Links carry the filter, so every page of a filtered list stays filtered. */
function pageLink(view: ReviewView, page: number, label: string): string {
  const query = new URLSearchParams({ token: view.token });
  if (view.filter) query.set('filter', view.filter);
  query.set('page', String(page));
  return `<a href="${escapeHtml(`/review?${query}`)}">${label}</a>`;
}

/** Where this page sits in the list ("Items 201-400 of 12,345"), and links to the others. */
function pages(view: ReviewView): string {
  const { counts, filter, page, items } = view;
  const last = pageCount(counts.matching);
  const first = (page - 1) * PAGE_SIZE + 1;
  const of = filter ? `${count(counts.matching)} matching "${filter}"` : count(counts.matching);
  const empty = filter ? `No items match "${filter}".` : 'No items.';
  const where =
    items.length === 0
      ? empty
      : `Items ${count(first)}-${count(first + items.length - 1)} of ${of}.`;
  const links = [
    page > 1 && pageLink(view, 1, 'First'),
    page > 1 && pageLink(view, page - 1, 'Previous'),
    page < last && pageLink(view, page + 1, 'Next'),
    page < last && pageLink(view, last, 'Last'),
  ].filter((link) => link !== false);
  return `<nav><p>${escapeHtml(where)} ${links.join(' ')}</p></nav>`;
}

/** How much waits for the reviewer, over all pages, whatever the filter shows. */
function waiting(view: ReviewView): string {
  const { total, undecided, pending } = view.counts;
  const deadline = when(view.campaign.deadlineAt ? new Date(view.campaign.deadlineAt) : null);
  const delegated = undecided - pending;
  return (
    `<p>Reviewer: <b>${escapeHtml(view.reviewer)}</b>. Deadline: ${escapeHtml(deadline)}. ` +
    `${count(pending)} of ${count(total)} items pending your decision.` +
    (delegated > 0 ? ` ${count(delegated)} more wait for the people you delegated them to.` : '') +
    '</p>'
  );
}

/**
 * The body of the review page: what waits, a filter, one page of items and the bulk actions on
 * them. The bulk form posts the page and the filter back, so the answer shows the same page.
 */
export function reviewBody(view: ReviewView): string {
  const hidden = (name: string, value: string) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const nav = pages(view);
  return (
    (view.notice ? `<p role="status"><b>${escapeHtml(view.notice)}</b></p>` : '') +
    waiting(view) +
    `<form method="get" action="/review">${hidden('token', view.token)}` +
    '<label>Filter ' +
    `<input type="search" name="filter" value="${escapeHtml(view.filter)}"></label> ` +
    '<button type="submit">Filter</button></form>' +
    nav +
    `<form method="post" action="/review">${hidden('token', view.token)}` +
    `${hidden('filter', view.filter)}${hidden('page', String(view.page))}` +
    '<table><thead><tr><th></th><th>Item</th><th>Identity</th><th>Entitlement</th><th>System</th><th>Risk</th>' +
    '<th>Obtained</th><th>Last granted</th><th>Decision</th><th>Reason</th></tr></thead>' +
    `<tbody>${view.items.map((item) => row(item, view.reviewer)).join('')}</tbody></table>` +
    '<p><button type="submit" name="action" value="certify">Certify selected</button> ' +
    '<button type="submit" name="action" value="revoke">Revoke selected</button> ' +
    '<label>or delegate selected to <input type="text" name="to" size="12"></label> ' +
    '<button type="submit" name="action" value="delegate">Delegate</button></p></form>' +
    nav +
    '<p>Revoking needs a reason in the row. Last use is not known to keyward; the last grant is shown.</p>'
  );
}
