import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { reasonProblem } from '../../domain/campaign';
import {
  CampaignActionId,
  CampaignViewId,
  MAX_ITEMS_WITH_BUTTONS,
  messageItems,
  parseButtonValue,
  progressHeadline,
  reviewBlocks,
  revokeReasonModal,
} from './campaign-blocks';
import type { CampaignButtonValue } from './campaign-blocks';
import type { SlackDirectory } from './directory';
import type { CampaignSlackPorts, Outcome } from './ports';

export interface CampaignActionsContext {
  ports: CampaignSlackPorts;
  directory: SlackDirectory;
  identityOf(slackUserId: string): Promise<{ identity?: string; refusal: string }>;
  whisper(
    client: WebClient,
    channel: string | undefined,
    user: string,
    text: string,
  ): Promise<unknown>;
  onError(err: unknown): void;
}

/** Where a review message is and which items it lists: what rebuilding it after a decision needs. */
const MessageRef = z.strictObject({
  channel: z.string().regex(/^[CDG][A-Z0-9]{2,20}$/),
  ts: z.string().regex(/^\d{1,12}\.\d{1,8}$/),
  items: z.array(z.number().int().positive()).min(1).max(MAX_ITEMS_WITH_BUTTONS),
});
type MessageRef = z.infer<typeof MessageRef>;

// The modal's private_metadata comes back with the submission; only keyward writes it, but it is
// read as input all the same.
const RevokeMetadata = z
  .strictObject({
    campaignId: z.string().min(1).max(63),
    reviewerId: z.string().min(1).max(200),
    seq: z.number().int().positive(),
    message: MessageRef.optional(),
  })
  .refine((meta) => !meta.message || meta.message.items.includes(meta.seq));
type RevokeMetadata = z.infer<typeof RevokeMetadata>;

/** How long a modal submission waits for the decision so a refusal can be shown on the form itself. */
const MODAL_ANSWER_MS = 1_500;
const DAMAGED = 'Not recorded: that button is damaged.';
const DAMAGED_FORM = 'This form is damaged; close it and click Revoke again.';
const UNRECORDED = 'keyward could not record the decision just now; please try again.';

interface Decided extends CampaignButtonValue {
  identity: string;
  slackUser: string;
  decision: 'certify' | 'revoke';
  message?: MessageRef;
}

interface Click {
  body: { user: { id: string } };
  client: WebClient;
  action: unknown;
}

/**
 * A campaign item's buttons and the revocation modal. The click names the item, and the clicking
 * user is who decides, so a forwarded message cannot decide for the reviewer it was sent to.
 */
export function registerCampaignActions(app: App, context: CampaignActionsContext): void {
  const { ports, identityOf, whisper } = context;
  const refresh = messageRefresher(context);

  // Both buttons begin alike: which item, who clicked, and where to tell them why not.
  async function clickOf({ body, client, action }: Click) {
    const channel = (body as { channel?: { id: string } }).channel?.id;
    const tell = (text: string) => whisper(client, channel, body.user.id, text);
    const value = parseButtonValue((action as { value?: string }).value);
    if (!value) return void (await tell(DAMAGED));
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await tell(refusal));
    return { value: pick(value), identity, channel, tell, message: messageRefOf(body) };
  }

  app.action(CampaignActionId.certify, async (args) => {
    await args.ack();
    const click = await clickOf(args);
    if (!click) return;
    const { value, identity } = click;
    const outcome = await ports.decideCampaignItem(
      identity,
      value.campaignId,
      value.seq,
      'certify',
    );
    if (!outcome.ok) return void (await click.tell(`Not recorded: ${outcome.message}`));
    const decided = {
      ...value,
      identity,
      slackUser: args.body.user.id,
      decision: 'certify' as const,
    };
    await refresh(args.client, { ...decided, message: click.message }, click.channel);
  });

  app.action(CampaignActionId.revoke, async (args) => {
    await args.ack();
    // The trigger expires three seconds after the click: only the look-ups naming the item run
    // first, and everything is checked again when the reason is submitted.
    const click = await clickOf(args);
    if (!click) return;
    const item = await ports.revocableItem(click.identity, click.value.campaignId, click.value.seq);
    if (!item.ok) return void (await click.tell(`Not recorded: ${item.message}`));
    const metadata: RevokeMetadata = { ...click.value, message: click.message };
    await args.client.views.open({
      trigger_id: (args.body as { trigger_id: string }).trigger_id,
      view: revokeReasonModal({ seq: click.value.seq, ...item }, JSON.stringify(metadata)) as never,
    });
  });

  app.view(CampaignViewId.revokeReason, async ({ ack, body, view, client }) => {
    const refuse = (text: string) => ack({ response_action: 'errors', errors: { reason: text } });
    const meta = parseMetadata(view.private_metadata);
    if (!meta) return void (await refuse(DAMAGED_FORM));
    const reason = view.state.values.reason?.reason_input?.value?.trim() ?? '';
    if (!reason) return void (await refuse('A revocation needs a reason.'));
    const bad = reasonProblem(reason);
    if (bad) return void (await refuse(`Not recorded: ${bad}.`));
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await refuse(refusal));
    const deciding = ports
      .decideCampaignItem(identity, meta.campaignId, meta.seq, 'revoke', reason)
      .catch((err: unknown): Outcome => (context.onError(err), { ok: false, message: UNRECORDED }));
    // Slack closes the modal when the answer is late: a slow refusal is sent as a message instead.
    const early = await within(deciding, MODAL_ANSWER_MS);
    if (early && !early.ok) return void (await refuse(`Not recorded: ${early.message}`));
    await ack();
    const outcome = early ?? (await deciding);
    const channel = meta.message?.channel;
    if (!outcome.ok) {
      return void (await whisper(
        client,
        channel,
        body.user.id,
        `Not recorded: ${outcome.message}`,
      ));
    }
    await refresh(
      client,
      { ...meta, identity, slackUser: body.user.id, decision: 'revoke' },
      channel,
    );
  });
}

/**
 * Rebuilds the reviewer's message from the record after a decision: the message Slack sent with a
 * click is as old as the click, and a submitted modal carries none. Only the reviewer's own message
 * is rebuilt, as its review link is theirs. When it cannot be, the decision stands and the person
 * is told in a message of its own.
 */
function messageRefresher({ ports, directory, whisper, onError }: CampaignActionsContext) {
  const slackUserOf = (identity: string, decided: Decided) =>
    identity === decided.identity
      ? decided.slackUser
      : directory.slackIdFor(identity).catch(() => undefined);

  async function update(client: WebClient, decided: Decided, ref: MessageRef): Promise<boolean> {
    const message = await ports.reviewMessage(decided.campaignId, decided.reviewerId, ref.items);
    if (!message) return false;
    const items = await Promise.all(
      message.items.map(async ({ decided: done, ...item }) =>
        done
          ? { ...item, decided: { ...done, slackUser: await slackUserOf(done.by, decided) } }
          : item,
      ),
    );
    const headline = progressHeadline(items);
    await client.chat.update({
      channel: ref.channel,
      ts: ref.ts,
      text: headline,
      blocks: reviewBlocks({ ...message, headline, items }) as never,
    });
    return true;
  }

  return async (
    client: WebClient,
    decided: Decided,
    channel: string | undefined,
  ): Promise<void> => {
    const ref = decided.message;
    let updated = false;
    if (ref && decided.identity === decided.reviewerId) {
      updated = await update(client, decided, ref).catch((err: unknown) => {
        const what = `the review message of campaign ${decided.campaignId}`;
        onError(new Error(`could not update ${what}: ${slackError(err)}`));
        return false;
      });
    }
    if (updated) return;
    const done = decided.decision === 'certify' ? 'certified' : 'revoked';
    await whisper(client, channel, decided.slackUser, `Item ${decided.seq}: ${done}.`);
  };
}

function messageRefOf(body: unknown): MessageRef | undefined {
  const { container, message } = body as {
    container?: { channel_id?: string; message_ts?: string };
    message?: { blocks?: unknown };
  };
  const ref = MessageRef.safeParse({
    channel: container?.channel_id,
    ts: container?.message_ts,
    items: messageItems(message?.blocks),
  });
  return ref.success ? ref.data : undefined;
}

function parseMetadata(text: string): RevokeMetadata | undefined {
  try {
    const parsed = RevokeMetadata.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const pick = ({ campaignId, reviewerId, seq }: CampaignButtonValue): CampaignButtonValue => ({
  campaignId,
  reviewerId,
  seq,
});

/** `work`'s result if it comes within `ms`, else undefined; `work` carries on either way. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), ms)),
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Slack's error code, or the error's message: never the request, which carries the token. */
function slackError(err: unknown): string {
  const code = (err as { data?: { error?: unknown } }).data?.error;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : 'unknown error';
}
