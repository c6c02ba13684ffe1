import type { ReviewSummary } from '../slack/campaign-blocks';
import { escapeHtml } from './templates';

/** The reviewer's one email for a campaign: what waits, until when, and the link to the review page. */
export function reviewEmail(summary: ReviewSummary) {
  const subject = `Access review: ${summary.campaignName}`;
  const deadline = `${summary.deadlineAt.slice(0, 16).replace('T', ' ')} UTC`;
  const text = [
    summary.headline,
    `Deadline: ${deadline}`,
    '',
    `Review page: ${summary.link}`,
    'The page lists your items; certify or revoke each, or delegate one to another reviewer.',
  ].join('\n');
  const html =
    `<!doctype html><html><body style="font-family:sans-serif;max-width:640px">` +
    `<h2>${escapeHtml(subject)}</h2><p>${escapeHtml(summary.headline)}</p><p>Deadline: ${escapeHtml(deadline)}</p>` +
    `<p><a href="${escapeHtml(summary.link)}">Open your review page</a></p>` +
    `<p style="color:#666;font-size:12px">Sent by keyward.</p></body></html>`;
  return { subject, text, html };
}
