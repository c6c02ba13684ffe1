import type { ReviewSummary } from './campaign-blocks';

export type Outcome<T = unknown> = ({ ok: true } & T) | { ok: false; message: string };

/** A review message's contents as the record has them now; Slack's side writes the headline. */
export type ReviewMessage = Omit<ReviewSummary, 'headline'>;

/** What Slack's campaign buttons and modal ask of keyward. */
export interface CampaignSlackPorts {
  decideCampaignItem(
    identity: string,
    campaignId: string,
    seq: number,
    decision: 'certify' | 'revoke',
    reason?: string,
  ): Promise<Outcome>;
  /** The item a Revoke click names, or why `identity` cannot decide it, before a reason is typed. */
  revocableItem(
    identity: string,
    campaignId: string,
    seq: number,
  ): Promise<Outcome<{ identity: string; entitlement: string; system: string }>>;
  /** Items `seqs` of `reviewerId`'s message with their decisions; undefined for no such campaign. */
  reviewMessage(
    campaignId: string,
    reviewerId: string,
    seqs: number[],
  ): Promise<ReviewMessage | undefined>;
}
