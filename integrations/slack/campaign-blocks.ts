import { MAX_TEXT } from '../../domain/text';
import { escapeMrkdwn } from './blocks';

// Slack action ids are snake_case; the value carries which item, never who clicked.
export const CampaignActionId = {
  certify: 'campaign_certify',
  revoke: 'campaign_revoke',
} as const;
export const CampaignViewId = { revokeReason: 'campaign_revoke_reason_modal' } as const;

/** Slack shows buttons per item only for short lists; longer ones go to the review page. */
export const MAX_ITEMS_WITH_BUTTONS = 10;

export interface ItemDecided {
  decision: 'certify' | 'revoke';
  /** The identity who decided, shown when Slack knows no user for them. */
  by: string;
  slackUser?: string;
  at: string;
}

export interface ReviewItem {
  seq: number;
  identity: string;
  entitlement: string;
  system: string;
  riskTier: string;
  decided?: ItemDecided;
}

export interface ReviewSummary {
  campaignId: string;
  campaignName: string;
  reviewerId: string;
  headline: string;
  deadlineAt: string;
  link: string;
  items: ReviewItem[];
}

export interface CampaignButtonValue {
  campaignId: string;
  reviewerId: string;
  seq: number;
}

type Block = Record<string, unknown>;

const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150), emoji: false });
const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;
// Every version of the message names its items by these block ids, buttons or decided line alike.
const ITEM_BLOCK = /^campaign_item_([1-9]\d{0,9})$/;
const itemBlockId = (seq: number) => `campaign_item_${seq}`;

/** One message per reviewer for the whole campaign: a summary, the link, and buttons when the list is short. */
export function reviewBlocks(summary: ReviewSummary): Block[] {
  const blocks: Block[] = [
    { type: 'header', text: plain(`Access review: ${summary.campaignName}`) },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${escapeMrkdwn(summary.headline)}\nDeadline: ${utc(summary.deadlineAt)}`,
        verbatim: true,
      },
      accessory: {
        type: 'button',
        text: plain('Open review page'),
        url: summary.link,
        action_id: 'campaign_open',
      },
    },
  ];
  // Long lists would hit Slack's fifty-block limit and be unreadable anyway: the link is enough.
  if (summary.items.length > MAX_ITEMS_WITH_BUTTONS) return blocks;
  for (const item of summary.items) {
    blocks.push(
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `*${escapeMrkdwn(item.identity)}*: ${escapeMrkdwn(item.entitlement)} ` +
            `on ${escapeMrkdwn(item.system)} (${escapeMrkdwn(item.riskTier)})`,
          verbatim: true,
        },
      },
      item.decided ? decidedBlock(item.seq, item.decided) : buttonsBlock(summary, item.seq),
    );
  }
  return blocks;
}

function buttonsBlock(summary: ReviewSummary, seq: number): Block {
  const value = JSON.stringify({
    campaignId: summary.campaignId,
    reviewerId: summary.reviewerId,
    seq,
  } satisfies CampaignButtonValue);
  return {
    type: 'actions',
    block_id: itemBlockId(seq),
    elements: [
      {
        type: 'button',
        action_id: CampaignActionId.certify,
        text: plain('Certify'),
        style: 'primary',
        value,
      },
      {
        type: 'button',
        action_id: CampaignActionId.revoke,
        text: plain('Revoke'),
        style: 'danger',
        value,
      },
    ],
  };
}

function decidedBlock(seq: number, { decision, by, slackUser, at }: ItemDecided): Block {
  const who = slackUser && SLACK_USER.test(slackUser) ? `<@${slackUser}>` : escapeMrkdwn(by);
  const what = decision === 'certify' ? 'Certified' : 'Revoked';
  return {
    type: 'context',
    block_id: itemBlockId(seq),
    elements: [{ type: 'mrkdwn', text: `${what} by ${who} at ${utc(at)}`, verbatim: true }],
  };
}

/** The headline of a message rebuilt after a decision: how far the reviewer has come with its items. */
export function progressHeadline(items: ReviewItem[]): string {
  const decided = items.filter((item) => item.decided).length;
  const pending = items.length - decided;
  if (pending === 0) return `All ${items.length} access items here are decided.`;
  return `${decided} of ${items.length} access items decided; ${pending} still wait for your review.`;
}

/**
 * The items a review message lists, read from its block ids. The list is fixed when the message is
 * posted, so any copy of the message gives it; what each item's state is comes from the database.
 */
export function messageItems(blocks: unknown): number[] | undefined {
  if (!Array.isArray(blocks)) return undefined;
  const seqs = blocks
    .map((block) => ITEM_BLOCK.exec(String((block as { block_id?: unknown })?.block_id ?? ''))?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map(Number);
  const unique = new Set(seqs).size === seqs.length;
  return unique && seqs.length > 0 && seqs.length <= MAX_ITEMS_WITH_BUTTONS ? seqs : undefined;
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

/** The modal asking why an item is revoked; `metadata` comes back with the submission. */
export function revokeReasonModal(
  item: Omit<ReviewItem, 'decided' | 'riskTier'>,
  metadata: string,
): Block {
  const { identity, entitlement, system } = item;
  const named = `*${escapeMrkdwn(identity)}*: ${escapeMrkdwn(entitlement)} on ${escapeMrkdwn(system)}`;
  return {
    type: 'modal',
    callback_id: CampaignViewId.revokeReason,
    private_metadata: metadata,
    title: plain('Revoke access'),
    submit: plain('Revoke'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Revoke ${named}?`, verbatim: true } },
      {
        type: 'input',
        block_id: 'reason',
        label: plain('Reason'),
        hint: plain('Kept with the campaign evidence.'),
        // What the server accepts as a reason, so Slack stops the typing where keyward would refuse.
        element: {
          type: 'plain_text_input',
          action_id: 'reason_input',
          multiline: true,
          max_length: MAX_TEXT,
        },
      },
    ],
  };
}
