import { ErrorCode } from '@slack/web-api';
import { ApplicationFailure, log } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import { FailureType } from '../domain/failures';
import type { JitState } from '../domain/jit';
import {
  outcomeLine,
  REQUESTER_EVENTS,
  requestFacts,
  requesterNotice,
  utcTime,
} from '../domain/notify';
import type { NoticeEvent } from '../domain/notify';
import type { LinkSigner } from '../integrations/email/links';
import type { Mailer } from '../integrations/email/mailer';
import {
  approvalEmail,
  factsEmail,
  noticeEmail,
  restoreApprovalEmail,
} from '../integrations/email/templates';
import {
  approvalBlocks,
  escapeMrkdwn,
  restoreBlocks,
  slackTime,
} from '../integrations/slack/blocks';
import type { SlackDirectory } from '../integrations/slack/directory';
import type { WebClient } from '@slack/web-api';
import type { Db } from '../store/db';
import { claimNotice, postedMessages, releaseNotice, savePostedMessage } from '../store/notices';

export interface NotifyDeps {
  db: Db;
  policy: () => PolicyView;
  slack?: { client: WebClient; directory: SlackDirectory };
  mail?: {
    mailer: Mailer;
    links: LinkSigner;
    publicUrl: string;
    printLinks?: (line: string) => void;
  };
}

/** A notice to named people that is not about one request: a rotation, an incident, a campaign. */
export interface PeopleNotice {
  /** Identities to tell, directly or through their groups. */
  to: string[];
  subject: string;
  text: string;
  facts: [string, string][];
  /** Unique per notice; a retried activity sends nothing twice. */
  key: string;
  /** An alert is logged as a warning when no channel can carry it; news only as information. */
  alert?: boolean;
  /** A Slack channel told besides the people, such as the security team's. */
  channel?: string;
  /** Asks these approvers to approve an incident's restore: their emails carry a signed link. */
  restore?: { incidentId: string; approvers: string[]; expiresAt: string };
}

export interface NotifyInput {
  event: NoticeEvent;
  state: JitState;
  /** Unique per notice; a retried activity sends nothing twice. */
  key: string;
}

type Mail = NonNullable<NotifyDeps['mail']>;

const factLines = (facts: [string, string][]) =>
  facts.map(([k, v]) => `*${escapeMrkdwn(k)}:* ${escapeMrkdwn(v)}`).join('\n');

/** Slack's answers for a message copy that is gone for good. */
const GONE = new Set([
  'message_not_found',
  'channel_not_found',
  'cant_update_message',
  'is_archived',
]);

export function createNotifyActivities(deps: NotifyDeps) {
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

  /**
   * Runs a Slack call. Slack's Retry-After becomes Temporal's next retry delay: the worker's Slack
   * client does not retry by itself, so an attempt that Temporal gave up on cannot post later.
   */
  async function slackCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const limited = err as { code?: string; retryAfter?: number };
      if (limited.code !== ErrorCode.RateLimitedError) throw err;
      throw ApplicationFailure.create({
        message: 'Slack asked keyward to slow down',
        type: FailureType.SlackRateLimited,
        nextRetryDelay: `${Math.max(1, limited.retryAfter ?? 1)}s`,
      });
    }
  }

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

  function restoreLink(
    restore: NonNullable<PeopleNotice['restore']>,
    approver: string,
    mail: Mail,
  ): string {
    const exp = Math.floor(Date.parse(restore.expiresAt) / 1000);
    const claims = { requestId: restore.incidentId, approver, decision: 'approve' as const, exp };
    return `${mail.publicUrl}/email/incident-restore?token=${mail.links.sign({ ...claims, kind: 'incident-restore' })}`;
  }

  /** Runs each channel's work whatever happened to the others; throws the first failure after. */
  async function everyChannel(works: (() => Promise<void>)[]): Promise<void> {
    const failures: unknown[] = [];
    for (const work of works) await work().catch((err: unknown) => void failures.push(err));
    if (failures.length > 0) throw failures[0];
  }

  return {
    /**
     * Tells people something in a Slack DM and by email. With neither channel configured the
     * notice goes to the worker's log, so an alert is never silently dropped.
     */
    async tellPeople(notice: PeopleNotice): Promise<void> {
      const people = deps.policy().people(notice.to);
      const { slack, mail } = deps;
      if (!slack && !mail) {
        const line = { text: notice.text, to: people.join(', ') };
        if (notice.alert) log.warn(notice.subject, line);
        else log.info(notice.subject, line);
        return;
      }
      const works: (() => Promise<void>)[] = [];
      const { channel } = notice;
      if (slack && channel) {
        // The channel reads the notice only: a restore is approved from each approver's own message.
        const text = `${escapeMrkdwn(notice.text)}\n${factLines(notice.facts)}`;
        works.push(() =>
          once(`${notice.key}/slack-channel`, () =>
            slackCall(() => slack.client.chat.postMessage({ channel, text })),
          ),
        );
      }
      for (const person of people) {
        if (slack) {
          works.push(async () => {
            const slackId = await slack.directory.slackIdFor(person);
            if (!slackId) return;
            const text = `${escapeMrkdwn(notice.text)}\n${factLines(notice.facts)}`;
            // Eligible approvers of a restore get the button; everyone else the notice alone.
            const restore = notice.restore?.approvers.includes(person) ? notice.restore : undefined;
            const extra = restore
              ? { blocks: restoreBlocks(text, restore.incidentId) as never }
              : {};
            await once(`${notice.key}/slack/${person}`, () =>
              slackCall(() => slack.client.chat.postMessage({ channel: slackId, text, ...extra })),
            );
          });
        }
        const identity = deps.policy().identity(person);
        if (mail && identity?.email) {
          const message = notice.restore?.approvers.includes(person)
            ? restoreApprovalEmail(notice, restoreLink(notice.restore, person, mail))
            : factsEmail(notice);
          works.push(() =>
            once(`${notice.key}/email/${person}`, () =>
              mail.mailer.send({
                to: { name: identity.name, address: identity.email! },
                ...message,
              }),
            ),
          );
        }
      }
      await everyChannel(works);
    },

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

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
