import { log } from '@temporalio/activity';
import type { JitState } from '../domain/jit';
import {
  outcomeLine,
  REQUESTER_EVENTS,
  requestFacts,
  requesterNotice,
  utcTime,
} from '../domain/notify';
import type { NoticeEvent } from '../domain/notify';
import { approvalEmail, noticeEmail } from '../integrations/email/templates';
import { approvalBlocks, escapeMrkdwn, slackTime } from '../integrations/slack/blocks';
import type { SlackDirectory } from '../integrations/slack/directory';
import { postedMessages, savePostedMessage } from '../store/notices';
import type { NotifyDeps } from './notify';
import { sendOnce, slackCall } from './notify-send';

// The notices of one access request: approvers asked in Slack and by email, the requester told.

export interface NotifyInput {
  event: NoticeEvent;
  state: JitState;
  /** Unique per notice; a retried activity sends nothing twice. */
  key: string;
}

/** Slack's answers for a message copy that is gone for good. */
const GONE = new Set([
  'message_not_found',
  'channel_not_found',
  'cant_update_message',
  'is_archived',
]);

export function createRequestNoticeActivities(deps: NotifyDeps) {
  const displayName = (id: string) => deps.policy().identity(id)?.name ?? id;
  // Slack reads &, < and > as markup: names and what people typed reach it escaped, so a reason
  // cannot turn into a link or a mention.
  const slackName = (id: string) => escapeMrkdwn(displayName(id));
  const forSlack = (state: JitState): JitState => ({
    ...state,
    denial: state.denial && {
      ...state.denial,
      reason: state.denial.reason && escapeMrkdwn(state.denial.reason),
    },
    failure: state.failure && escapeMrkdwn(state.failure),
  });

  const once = (key: string, send: () => Promise<unknown>) => sendOnce(deps.db, key, send);

  async function postApprovalMessages(
    input: NotifyInput,
    slack: NonNullable<NotifyDeps['slack']>,
  ): Promise<void> {
    const { state } = input;
    const facts = requestFacts(state, displayName);
    const blocks = approvalBlocks(facts, outcomeLine(forSlack(state), slackTime, slackName), true);
    const requester = escapeMrkdwn(facts.requester);
    const text = `Approval needed: ${requester} requests ${facts.entitlement} for ${facts.duration}`;
    const posted = new Set(
      (await postedMessages(deps.db, state.requestId)).map((m) => m.recipient),
    );
    const channel = deps.policy().entitlement(state.plan.entitlementId)?.approvalChannel;
    const targets = channel
      ? [{ recipient: channel, channel }]
      : await approverChannels(state, slack.directory);
    for (const target of targets.filter((t) => !posted.has(t.recipient))) {
      await once(`${input.key}/slack/${target.recipient}`, async () => {
        const result = await slackCall(() =>
          slack.client.chat.postMessage({ channel: target.channel, text, blocks: blocks as never }),
        );
        await savePostedMessage(deps.db, state.requestId, {
          channel: result.channel!,
          ts: result.ts!,
          recipient: target.recipient,
        });
      });
    }
  }

  async function approverChannels(state: JitState, directory: SlackDirectory) {
    const targets: { recipient: string; channel: string }[] = [];
    for (const approver of state.plan.eligibleApprovers) {
      const slackId = await directory.slackIdFor(approver);
      if (slackId) targets.push({ recipient: approver, channel: slackId });
    }
    return targets;
  }

  /** Every copy of the approval message shows where the request stands; buttons only while it is open. */
  async function syncApprovalMessages(
    state: JitState,
    slack: NonNullable<NotifyDeps['slack']>,
  ): Promise<void> {
    const facts = requestFacts(state, displayName);
    const open = state.status === 'PENDING' && state.approvals.length < state.plan.required;
    const outcome = outcomeLine(forSlack(state), slackTime, slackName);
    const blocks = approvalBlocks(facts, outcome, open);
    for (const { channel, ts } of await postedMessages(deps.db, state.requestId)) {
      try {
        await slackCall(() =>
          slack.client.chat.update({ channel, ts, text: outcome, blocks: blocks as never }),
        );
      } catch (err) {
        // A copy someone deleted, or a channel archived, is skipped: retrying cannot bring it back.
        if (!GONE.has((err as { data?: { error?: string } }).data?.error ?? '')) throw err;
      }
    }
  }

  async function mailApprovers(
    input: NotifyInput,
    mail: NonNullable<NotifyDeps['mail']>,
  ): Promise<void> {
    const { state } = input;
    const facts = requestFacts(state, displayName);
    const exp = Math.floor(Date.parse(state.approvalDeadline) / 1000);
    for (const approver of state.plan.eligibleApprovers) {
      const identity = deps.policy().identity(approver);
      if (!identity?.email) continue;
      const link = (decision: 'approve' | 'deny') =>
        `${mail.publicUrl}/email/decide?token=` +
        mail.links.sign({ requestId: state.requestId, approver, decision, exp });
      const links = { approve: link('approve'), deny: link('deny') };
      await once(`${input.key}/email/${approver}`, async () => {
        await mail.mailer.send({
          to: { name: identity.name, address: identity.email! },
          ...approvalEmail(facts, links),
        });
        mail.printLinks?.(
          `Approval links for ${approver} on request ${state.requestId}:\n` +
            `  approve: ${links.approve}\n  deny:    ${links.deny}`,
        );
      });
    }
  }

  async function tellRequesterInSlack(
    input: NotifyInput,
    slack: NonNullable<NotifyDeps['slack']>,
  ): Promise<void> {
    const slackId = await slack.directory.slackIdFor(input.state.requester);
    if (!slackId) return;
    const notice = requesterNotice(input.event, forSlack(input.state), slackTime, slackName);
    await once(`${input.key}/slack`, () =>
      slackCall(() => slack.client.chat.postMessage({ channel: slackId, text: notice.text })),
    );
  }

  async function tellRequesterByEmail(
    input: NotifyInput,
    mail: NonNullable<NotifyDeps['mail']>,
  ): Promise<void> {
    const requester = deps.policy().identity(input.state.requester);
    if (!requester?.email) return;
    const notice = requesterNotice(input.event, input.state, utcTime, displayName);
    const message = noticeEmail(notice, requestFacts(input.state, displayName));
    await once(`${input.key}/email`, () =>
      mail.mailer.send({ to: { name: requester.name, address: requester.email! }, ...message }),
    );
  }

  return {
    /** Tells the people concerned about one moment of a request, on every configured channel. */
    async notify(input: NotifyInput): Promise<void> {
      // Each channel is tried whatever happened to the others: Slack being down must not keep an
      // email from going out. A retry repeats only what did not go out, thanks to the claims.
      const failures: unknown[] = [];
      const attempt = (work: () => Promise<void>) =>
        work().catch((err: unknown) => void failures.push(err));
      const { slack, mail } = deps;
      if (input.event === 'approval-needed') {
        if (slack) await attempt(() => postApprovalMessages(input, slack));
        if (mail) await attempt(() => mailApprovers(input, mail));
      } else if (slack) {
        await attempt(() => syncApprovalMessages(input.state, slack));
      }
      if (REQUESTER_EVENTS.includes(input.event)) {
        if (slack) await attempt(() => tellRequesterInSlack(input, slack));
        if (mail) await attempt(() => tellRequesterByEmail(input, mail));
      }
      if (failures.length > 0) throw failures[0];
      log.debug('Notified', { event: input.event, requestId: input.state.requestId });
    },
  };
}
