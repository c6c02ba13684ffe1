import { activityInfo, log } from '@temporalio/activity';
import type { ReviewLinkSigner } from '../integrations/email/review-links';
import { reviewLinkClaims } from '../integrations/email/review-links';
import { reviewEmail } from '../integrations/email/review-templates';
import { MAX_ITEMS_WITH_BUTTONS, reviewBlocks } from '../integrations/slack/campaign-blocks';
import type { ReviewSummary } from '../integrations/slack/campaign-blocks';
import { actorCounts, findCampaign, pendingItemsFor } from '../store/campaigns';
import { claimNotice, releaseNotice } from '../store/notices';
import type { NotifyDeps } from './notify';

export interface CampaignNotifyDeps extends Pick<NotifyDeps, 'db' | 'policy' | 'slack'> {
  mail?: Pick<NonNullable<NotifyDeps['mail']>, 'mailer' | 'publicUrl' | 'printLinks'>;
  reviewLinks: ReviewLinkSigner;
  /** Where review links point when email is off; the server's public address. */
  publicUrl: string;
}

export type ReviewNoticeKind = 'launch' | 'reminder' | 'escalated' | 'delegated';

export interface ReviewNotice {
  campaignId: string;
  /** Who is told: the reviewer, or the person items were escalated or delegated to. */
  reviewerId: string;
  kind: ReviewNoticeKind;
  from?: string;
  /** Distinguishes repeated notices of one kind (the nth reminder, the nth delegation). */
  round?: number;
}

const headline = (notice: ReviewNotice, pending: number) =>
  ({
    launch: `You have ${pending} access items to review.`,
    reminder: `Reminder: ${pending} access items still wait for your review.`,
    escalated:
      `${notice.from}'s pending access items were escalated to you; ` +
      `${pending} wait for your review.`,
    delegated: `${notice.from} delegated access items to you; ${pending} wait for your review.`,
  })[notice.kind];

/**
 * What a notice is sent once on, however often its activity runs. A person hears of each round of
 * reminders once, whichever reviewers' items they answer for; of an escalation once for every
 * reviewer escalated from; and of every delegation, a second one from the same person included.
 */
function noticeKey(notice: ReviewNotice): string {
  const base = `campaign/${notice.campaignId}/${notice.kind}/${notice.reviewerId}`;
  if (notice.kind === 'launch' || notice.kind === 'reminder') return `${base}/${notice.round ?? 0}`;
  if (notice.kind === 'escalated') return `${base}/from/${notice.from}/${notice.round ?? 0}`;
  return `${base}/from/${notice.from}/${notice.round ?? scheduledAs()}`;
}

/**
 * A delegation sent without a count of its own is told apart by the activity that carries it: its
 * id in its workflow run is the same on every retry and different for the next delegation.
 */
function scheduledAs(): string {
  const info = activityInfo();
  return [info.workflowExecution?.runId, info.activityId].join('/');
}

export function createCampaignNotifyActivities(deps: CampaignNotifyDeps) {
  /** Claims the key first and gives it back when sending fails, so a retry sends exactly once. */
  async function once(key: string, send: () => Promise<unknown>): Promise<void> {
    if (!(await claimNotice(deps.db, key))) return;
    try {
      await send();
    } catch (err) {
      await releaseNotice(deps.db, key);
      throw err;
    }
  }

  return {
    /**
     * One Slack message and one email for a reviewer's whole share of a campaign, with a signed link
     * to the review page. Reminders go out only while the reviewer still has items pending.
     */
    async noticeReviewer(notice: ReviewNotice): Promise<void> {
      const campaign = await findCampaign(deps.db, notice.campaignId);
      if (!campaign?.deadlineAt) return;
      // Counted at sending time, so a reminder never goes to someone who has just finished, and
      // only what the person answers for: an item they delegated is its delegate's to answer.
      const actor = notice.reviewerId;
      const { pending } = await actorCounts(deps.db, notice.campaignId, actor);
      if (pending === 0) return;
      // Only Slack lists items, with buttons, and only when they are few; the rest is the page's.
      const listed =
        pending <= MAX_ITEMS_WITH_BUTTONS
          ? await pendingItemsFor(deps.db, notice.campaignId, actor, MAX_ITEMS_WITH_BUTTONS)
          : [];
      const publicUrl = deps.mail?.publicUrl ?? deps.publicUrl;
      const link = deps.reviewLinks.link(
        publicUrl,
        reviewLinkClaims(notice.campaignId, notice.reviewerId, campaign.deadlineAt),
      );
      const summary: ReviewSummary = {
        campaignId: notice.campaignId,
        campaignName: campaign.name,
        reviewerId: notice.reviewerId,
        headline: headline(notice, pending),
        deadlineAt: campaign.deadlineAt,
        link,
        items: listed.map((item) => ({
          seq: item.seq,
          identity: item.identity,
          entitlement: item.entitlement_id,
          system: item.system_id,
          riskTier: item.risk_tier,
        })),
      };
      const key = noticeKey(notice);
      const identity = deps.policy().identity(notice.reviewerId);
      const failures: unknown[] = [];
      const { slack, mail } = deps;
      if (slack) {
        await (async () => {
          const channel = await slack.directory.slackIdFor(notice.reviewerId);
          if (!channel) return;
          await once(`${key}/slack`, () =>
            slack.client.chat.postMessage({
              channel,
              text: summary.headline,
              blocks: reviewBlocks(summary) as never,
            }),
          );
        })().catch((err: unknown) => void failures.push(err));
      }
      if (mail && identity?.email) {
        await once(`${key}/email`, async () => {
          await mail.mailer.send({
            to: { name: identity.name, address: identity.email! },
            ...reviewEmail(summary),
          });
          mail.printLinks?.(
            `Review page for ${notice.reviewerId} in campaign ${notice.campaignId}: ${link}`,
          );
        }).catch((err: unknown) => void failures.push(err));
      }
      if (!slack && !mail)
        log.info('Review notice with no channel configured', { campaignId: notice.campaignId });
      if (failures.length > 0) throw failures[0];
    },
  };
}

export type CampaignNotifyActivities = ReturnType<typeof createCampaignNotifyActivities>;
