import { verifySlackRequest } from '@slack/bolt';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';

export interface SlackHttpResponse {
  status: number;
  body: string;
  contentType: string;
}

export interface SlackHttpRequest {
  rawBody: string;
  contentType: string;
  signature?: string;
  timestamp?: string;
  retryNum?: string;
  retryReason?: string;
}

// Slack waits 3 s for the acknowledgement; answer a little before that whatever happens.
const ACK_DEADLINE_MS = 2_500;

/**
 * A Bolt receiver that lives inside keyward's own HTTP server: the route hands it the raw
 * request, it checks Slack's signature, lets Bolt dispatch the event, and answers with
 * whatever the listener acknowledged.
 */
export class EmbeddedSlackReceiver implements Receiver {
  private app?: App;

  constructor(
    private readonly signingSecret: string,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async handle(request: SlackHttpRequest): Promise<SlackHttpResponse> {
    try {
      verifySlackRequest({
        signingSecret: this.signingSecret,
        body: request.rawBody,
        headers: {
          'x-slack-signature': request.signature ?? '',
          'x-slack-request-timestamp': Number(request.timestamp),
        },
      });
    } catch {
      return text(401, 'invalid Slack signature');
    }

    const body = parseBody(request.rawBody, request.contentType);
    if (!body) return text(400, 'unreadable Slack payload');
    if (body.type === 'url_verification') return json({ challenge: body.challenge });
    if (body.ssl_check) return text(200, '');

    let acknowledged: (response: unknown) => void = () => {};
    const ackReceived = new Promise<unknown>((resolve) => (acknowledged = resolve));
    let acked = false;
    const event: ReceiverEvent = {
      body,
      retryNum: request.retryNum ? Number(request.retryNum) : undefined,
      retryReason: request.retryReason,
      customProperties: {},
      ack: async (response?: unknown) => {
        if (acked) return;
        acked = true;
        acknowledged(response);
      },
    };
    const processed = this.app!.processEvent(event).catch((err) => this.onError(err));
    const deadline = new Promise<undefined>((resolve) =>
      setTimeout(() => resolve(undefined), ACK_DEADLINE_MS).unref(),
    );
    const response = await Promise.race([ackReceived, processed.then(() => undefined), deadline]);
    if (response === undefined || response === '') return text(200, '');
    return typeof response === 'string' ? text(200, response) : json(response);
  }
}

function parseBody(raw: string, contentType: string): Record<string, unknown> | undefined {
  try {
    if (contentType.startsWith('application/json')) return JSON.parse(raw);
    const form = Object.fromEntries(new URLSearchParams(raw));
    return typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
  } catch {
    return undefined;
  }
}

const text = (status: number, body: string): SlackHttpResponse => ({
  status,
  body,
  contentType: 'text/plain',
});
const json = (value: unknown): SlackHttpResponse => ({
  status: 200,
  body: JSON.stringify(value),
  contentType: 'application/json',
});
