import { log } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import type { JitState } from '../domain/jit';
import { outcomeLine, REQUESTER_EVENTS, requestFacts, requesterNotice, utcTime } from '../domain/notify';
import type { NoticeEvent } from '../domain/notify';
import type { LinkSigner } from '../integrations/email/links';
import type { Mailer } from '../integrations/email/mailer';
import { approvalEmail, noticeEmail } from '../integrations/email/templates';
import { approvalBlocks, escapeMrkdwn, slackTime } from '../integrations/slack/blocks';
import type { SlackDirectory } from '../integrations/slack/directory';
import type { WebClient } from '@slack/web-api';
import type { Db } from '../store/db';
import { claimNotice, postedMessages, releaseNotice, savePostedMessage } from '../store/notices';

export interface NotifyDeps {
  db: Db;
  policy: () => PolicyView;
  slack?: { client: WebClient; directory: SlackDirectory };
  mail?: { mailer: Mailer; links: LinkSigner; publicUrl: string; printLinks?: (line: string) => void };
}

export interface NotifyInput {
  event: NoticeEvent;
  state: JitState;
  /** Unique per notice; a retried activity sends nothing twice. */
  key: string;
}

export function createNotifyActivities(deps: NotifyDeps) {
  const displayName = (id: string) => deps.policy().identity(id)?.name ?? id;
  // Slack reads &, < and > as markup: names and what people typed reach it escaped, so a reason
  // cannot turn into a link or a mention.
  const slackName = (id: string) => escapeMrkdwn(displayName(id));
  const forSlack = (state: JitState): JitState => ({
    ...state,
    denial: state.denial && { ...state.denial, reason: state.denial.reason && escapeMrkdwn(state.denial.reason) },
    failure: state.failure && escapeMrkdwn(state.failure),
  });

  /** Sends once per key: claims first, gives the claim back if sending fails so a retry sends. */
  async function once(key: string, send: () => Promise<unknown>): Promise<void> {
    if (!(await claimNotice(deps.db, key))) return;
    try {
      await send();
    } catch (err) {
      await releaseNotice(deps.db, key);
      throw err;
    }
  }

  async function postApprovalMessages(state: JitState, slack: NonNullable<NotifyDeps['slack']>): Promise<void> {
    const facts = requestFacts(state, displayName);
    const blocks = approvalBlocks(facts, outcomeLine(forSlack(state), slackTime, slackName), true);
    const requester = escapeMrkdwn(facts.requester);
    const text = `Approval needed: ${requester} requests ${facts.entitlement} for ${facts.duration}`;
    const posted = new Set((await postedMessages(deps.db, state.requestId)).map((m) => m.recipient));
    const channel = deps.policy().entitlement(state.plan.entitlementId)?.approvalChannel;
    const targets = channel ? [{ recipient: channel, channel }] : await approverChannels(state, slack.directory);
    for (const target of targets.filter((t) => !posted.has(t.recipient))) {
      const result = await slack.client.chat.postMessage({ channel: target.channel, text, blocks: blocks as never });
      await savePostedMessage(deps.db, state.requestId, {
        channel: result.channel!,
        ts: result.ts!,
        recipient: target.recipient,
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
  async function syncApprovalMessages(state: JitState, slack: NonNullable<NotifyDeps['slack']>): Promise<void> {
    const facts = requestFacts(state, displayName);
    const open = state.status === 'PENDING' && state.approvals.length < state.plan.required;
    const outcome = outcomeLine(forSlack(state), slackTime, slackName);
    const blocks = approvalBlocks(facts, outcome, open);
    for (const message of await postedMessages(deps.db, state.requestId)) {
      const { channel, ts } = message;
      await slack.client.chat.update({ channel, ts, text: outcome, blocks: blocks as never });
    }
  }

  async function mailApprovers(input: NotifyInput, mail: NonNullable<NotifyDeps['mail']>): Promise<void> {
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

  async function tellRequester(input: NotifyInput): Promise<void> {
    const { state, event } = input;
    const requester = deps.policy().identity(state.requester);
    if (deps.slack) {
      const slack = deps.slack;
      const slackId = await slack.directory.slackIdFor(state.requester);
      if (slackId) {
        const notice = requesterNotice(event, forSlack(state), slackTime, slackName);
        await once(`${input.key}/slack`, () => slack.client.chat.postMessage({ channel: slackId, text: notice.text }));
      }
    }
    if (deps.mail && requester?.email) {
      const mailer = deps.mail.mailer;
      const notice = requesterNotice(event, state, utcTime, displayName);
      const mail = noticeEmail(notice, requestFacts(state, displayName));
      await once(`${input.key}/email`, () =>
        mailer.send({ to: { name: requester.name, address: requester.email! }, ...mail }),
      );
    }
  }

  return {
    /** Tells the people concerned about one moment of a request, on every configured channel. */
    async notify(input: NotifyInput): Promise<void> {
      if (input.event === 'approval-needed') {
        if (deps.slack) await postApprovalMessages(input.state, deps.slack);
        if (deps.mail) await mailApprovers(input, deps.mail);
      } else if (deps.slack) {
        await syncApprovalMessages(input.state, deps.slack);
      }
      if (REQUESTER_EVENTS.includes(input.event)) await tellRequester(input);
      log.debug('Notified', { event: input.event, requestId: input.state.requestId });
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
