import { escapeMrkdwn } from './blocks';

// Slack action ids are snake_case; the value carries which item, never who clicked.
export const CampaignActionId = {
  certify: 'campaign_certify',
  revoke: 'campaign_revoke',
} as const;

/** Slack shows buttons per item only for short lists; longer ones go to the review page. */
export const MAX_ITEMS_WITH_BUTTONS = 10;

export interface ReviewSummary {
  campaignId: string;
  campaignName: string;
  reviewerId: string;
  headline: string;
  deadlineAt: string;
  link: string;
  items: { seq: number; identity: string; entitlement: string; system: string; riskTier: string }[];
}

export interface CampaignButtonValue {
  campaignId: string;
  reviewerId: string;
  seq: number;
}

type Block = Record<string, unknown>;

const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150), emoji: false });

/** One message per reviewer for the whole campaign: a summary, the link, and buttons when the list is short. */
export function reviewBlocks(summary: ReviewSummary): Block[] {
  const blocks: Block[] = [
    { type: 'header', text: plain(`Access review: ${summary.campaignName}`) },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${escapeMrkdwn(summary.headline)}\nDeadline: ${summary.deadlineAt.slice(0, 16).replace('T', ' ')} UTC`,
        verbatim: true,
      },
      accessory: { type: 'button', text: plain('Open review page'), url: summary.link, action_id: 'campaign_open' },
    },
  ];
  // Long lists would hit Slack's fifty-block limit and be unreadable anyway: the link is enough.
  if (summary.items.length > MAX_ITEMS_WITH_BUTTONS) return blocks;
  for (const item of summary.items) {
    const value = (seq: number) =>
      JSON.stringify({
        campaignId: summary.campaignId,
        reviewerId: summary.reviewerId,
        seq,
      } satisfies CampaignButtonValue);
    blocks.push(
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `*${escapeMrkdwn(item.identity)}*: ${escapeMrkdwn(item.entitlement)} ` +
            `on ${escapeMrkdwn(item.system)} (${item.riskTier})`,
          verbatim: true,
        },
      },
      {
        type: 'actions',
        block_id: `campaign_item_${item.seq}`,
        elements: [
          {
            type: 'button',
            action_id: CampaignActionId.certify,
            text: plain('Certify'),
            style: 'primary',
            value: value(item.seq),
          },
          {
            type: 'button',
            action_id: CampaignActionId.revoke,
            text: plain('Revoke'),
            style: 'danger',
            value: value(item.seq),
          },
        ],
      },
    );
  }
  return blocks;
}

export function parseButtonValue(value: string | undefined): CampaignButtonValue | undefined {
  try {
    const parsed = JSON.parse(value ?? '') as CampaignButtonValue;
    const ok = typeof parsed.campaignId === 'string' && typeof parsed.reviewerId === 'string';
    return ok && Number.isInteger(parsed.seq) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
