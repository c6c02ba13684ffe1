import { log } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import type { LinkSigner } from '../integrations/email/links';
import type { Mailer } from '../integrations/email/mailer';
import { factsEmail, restoreApprovalEmail } from '../integrations/email/templates';
import { escapeMrkdwn, restoreBlocks } from '../integrations/slack/blocks';
import type { SlackDirectory } from '../integrations/slack/directory';
import type { WebClient } from '@slack/web-api';
import type { Db } from '../store/db';
import { createRequestNoticeActivities } from './notify-requests';
import { everyChannel, sendOnce, slackCall } from './notify-send';

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

type Mail = NonNullable<NotifyDeps['mail']>;

const factLines = (facts: [string, string][]) =>
  facts.map(([k, v]) => `*${escapeMrkdwn(k)}:* ${escapeMrkdwn(v)}`).join('\n');

function restoreLink(
  restore: NonNullable<PeopleNotice['restore']>,
  approver: string,
  mail: Mail,
): string {
  const exp = Math.floor(Date.parse(restore.expiresAt) / 1000);
  const claims = { requestId: restore.incidentId, approver, decision: 'approve' as const, exp };
  return `${mail.publicUrl}/email/incident-restore?token=${mail.links.sign({ ...claims, kind: 'incident-restore' })}`;
}

export function createNotifyActivities(deps: NotifyDeps) {
  const once = (key: string, send: () => Promise<unknown>) => sendOnce(deps.db, key, send);

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

    ...createRequestNoticeActivities(deps),
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
