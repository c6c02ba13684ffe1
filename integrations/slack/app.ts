import { App, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import {
  ActionId,
  denyReasonModal,
  homeView,
  newRequestModal,
  overviewText,
  ViewId,
} from './blocks';
import type { Overview } from './blocks';
import { registerCampaignActions } from './campaign-actions';
import type { SlackDirectory } from './directory';
import type { CampaignSlackPorts, Outcome } from './ports';
import { EmbeddedSlackReceiver } from './receiver';

/** What the Slack app asks of keyward; the server provides it, so this layer knows no workflow. */
export interface SlackPorts extends CampaignSlackPorts {
  decide(
    identity: string,
    requestId: string,
    decision: 'approve' | 'deny',
    reason?: string,
  ): Promise<Outcome>;
  createRequest(
    identity: string,
    input: { entitlement: string; duration: string; reason: string },
  ): Promise<Outcome<{ id: string; approvers: string[]; required: number }>>;
  overview(identity: string): Promise<Overview>;
  entitlements(): { id: string; riskTier: string }[];
  entitlementOf(requestId: string): Promise<string | undefined>;
  approveRestore(identity: string, incidentId: string): Promise<Outcome<{ status: string }>>;
}

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  directory: (client: WebClient) => SlackDirectory;
  ports: SlackPorts;
  onError: (err: unknown) => void;
}

const REFUSAL = 'keyward does not know your Slack account, so it cannot take a decision from you.';
const UNAVAILABLE =
  'keyward could not look up your Slack account just now; please try again in a moment.';

/**
 * The interactive side of Slack: button clicks, the deny and revoke modals, the slash command and
 * App Home. Every listener acknowledges within Slack's 3 seconds, and all but the revoke modal's
 * acknowledge first: that one waits a moment for the decision, so a refusal shows on the form.
 */
export function createSlackApp(options: SlackAppOptions): {
  app: App;
  receiver?: EmbeddedSlackReceiver;
} {
  const socketMode = Boolean(options.appToken);
  const receiver = socketMode
    ? undefined
    : new EmbeddedSlackReceiver(options.signingSecret ?? '', options.onError);
  if (!socketMode && !options.signingSecret)
    throw new Error('SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN selects Socket Mode');
  const clientOptions = options.apiUrl ? { slackApiUrl: options.apiUrl } : {};
  const client = new WebClient(options.botToken, clientOptions);
  // The token is checked on first use, not at start: an unreachable Slack must not stop keyward.
  // Bolt's own lazy check asks auth.test again before every event's ack, so the answer is kept here.
  let bot: Promise<{ botUserId?: string; botId?: string }> | undefined;
  const authorize = async () => {
    bot ??= client.auth.test().then(
      (result) => ({ botUserId: result.user_id, botId: result.bot_id }),
      (err) => {
        bot = undefined;
        throw err;
      },
    );
    return { botToken: options.botToken, ...(await bot) };
  };
  const app = new App({
    authorize,
    ...(socketMode
      ? {
          socketMode: true,
          appToken: options.appToken,
          // The socket client opens its connection through the Web API, so it follows SLACK_API_URL too.
          installerOptions: options.apiUrl
            ? { clientOptions: { slackApiUrl: options.apiUrl } }
            : undefined,
        }
      : { receiver }),
    clientOptions,
    logLevel: LogLevel.WARN,
  });
  const directory = options.directory(client);
  const { ports } = options;
  // Slack's directory may fail for a moment; that person is told to try again, not that they are unknown.
  const identityOf = (slackUserId: string) =>
    directory.identityFor(slackUserId).then(
      (identity) => ({ identity, refusal: REFUSAL }),
      () => ({ identity: undefined, refusal: UNAVAILABLE }),
    );

  const whisper = (client: WebClient, channel: string | undefined, user: string, text: string) =>
    channel
      ? client.chat.postEphemeral({ channel, user, text })
      : client.chat.postMessage({ channel: user, text });

  app.action(ActionId.approve, async ({ ack, body, client, action }) => {
    await ack();
    const requestId = (action as { value?: string }).value ?? '';
    const channel = (body as { channel?: { id: string } }).channel?.id;
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await whisper(client, channel, body.user.id, refusal));
    const outcome = await ports.decide(identity, requestId, 'approve');
    if (!outcome.ok)
      await whisper(client, channel, body.user.id, `Not recorded: ${outcome.message}`);
  });

  app.action(ActionId.approveRestore, async ({ ack, body, client, action }) => {
    await ack();
    const incidentId = (action as { value?: string }).value ?? '';
    const channel = (body as { channel?: { id: string } }).channel?.id;
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await whisper(client, channel, body.user.id, refusal));
    const outcome = await ports.approveRestore(identity, incidentId);
    const said = outcome.ok
      ? `Restore approved; the incident is ${outcome.status}.`
      : `Not recorded: ${outcome.message}`;
    await whisper(client, channel, body.user.id, said);
  });
  registerCampaignActions(app, { ports, directory, identityOf, whisper, onError: options.onError });

  app.action(ActionId.deny, async ({ ack, body, client, action }) => {
    await ack();
    const requestId = (action as { value?: string }).value ?? '';
    const channel = (body as { channel?: { id: string } }).channel?.id;
    // The modal's trigger expires three seconds after the click: both look-ups run at once, and
    // the identity is checked again when the reason is submitted.
    const [{ identity, refusal }, entitlement] = await Promise.all([
      identityOf(body.user.id),
      ports.entitlementOf(requestId).catch(() => undefined),
    ]);
    if (!identity) return void (await whisper(client, channel, body.user.id, refusal));
    await client.views.open({
      trigger_id: (body as { trigger_id: string }).trigger_id,
      view: denyReasonModal(requestId, entitlement ?? 'this request') as never,
    });
  });

  app.view(ViewId.denyReason, async ({ ack, body, view, client }) => {
    const reason = view.state.values.reason?.reason_input?.value?.trim() ?? '';
    if (!reason)
      return void (await ack({
        response_action: 'errors',
        errors: { reason: 'A denial needs a reason.' },
      }));
    await ack();
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await whisper(client, undefined, body.user.id, refusal));
    const outcome = await ports.decide(identity, view.private_metadata, 'deny', reason);
    if (!outcome.ok)
      await whisper(client, undefined, body.user.id, `Not recorded: ${outcome.message}`);
  });

  app.command('/keyward', async ({ ack, command, respond, client }) => {
    await ack();
    const { identity, refusal } = await identityOf(command.user_id);
    if (!identity) return void (await respond({ response_type: 'ephemeral', text: refusal }));
    const [verb, entitlement, duration, ...reason] = command.text.trim().split(/\s+/);
    if (verb === 'status') {
      return void (await respond({
        response_type: 'ephemeral',
        text: overviewText(await ports.overview(identity)),
      }));
    }
    if (verb !== 'request') {
      const usage =
        'Usage: `/keyward request <entitlement> <duration> <reason>` or `/keyward status`';
      return void (await respond({ response_type: 'ephemeral', text: usage }));
    }
    if (!entitlement || !duration || reason.length === 0) {
      const view = newRequestModal(ports.entitlements(), { entitlement });
      return void (await client.views.open({
        trigger_id: command.trigger_id,
        view: view as never,
      }));
    }
    const outcome = await ports.createRequest(identity, {
      entitlement,
      duration,
      reason: reason.join(' '),
    });
    await respond({ response_type: 'ephemeral', text: describeCreated(outcome) });
  });

  app.view(ViewId.newRequest, async ({ ack, body, view, client }) => {
    await ack();
    const values = view.state.values;
    const { identity, refusal } = await identityOf(body.user.id);
    if (!identity) return void (await whisper(client, undefined, body.user.id, refusal));
    const outcome = await ports.createRequest(identity, {
      entitlement: values.entitlement?.value?.selected_option?.value ?? '',
      duration: values.duration?.value?.value?.trim() ?? '',
      reason: values.reason?.value?.value?.trim() ?? '',
    });
    await client.chat.postMessage({ channel: body.user.id, text: describeCreated(outcome) });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const { identity } = await identityOf(event.user);
    const overview = identity
      ? await ports.overview(identity)
      : { awaiting: [], grants: [], requests: [] };
    await client.views.publish({ user_id: event.user, view: homeView(overview) as never });
  });

  app.error(async (err) => options.onError(err));
  return { app, receiver };
}

function describeCreated(
  outcome: Outcome<{ id: string; approvers: string[]; required: number }>,
): string {
  if (!outcome.ok) return `Request not created: ${outcome.message}`;
  return outcome.required === 0
    ? `Request \`${outcome.id}\` created; it needs no approval and is being granted.`
    : `Request \`${outcome.id}\` created; it needs ${outcome.required} approval(s) ` +
        `from ${outcome.approvers.join(', ')}.`;
}
