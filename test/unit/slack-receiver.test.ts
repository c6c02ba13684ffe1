import type { App, ReceiverEvent } from '@slack/bolt';
import { EmbeddedSlackReceiver } from '../../integrations/slack/receiver';
import type { SlackHttpRequest } from '../../integrations/slack/receiver';
import { slackSignature } from '../support/fake-slack';

const secret = 'test-signing-secret';
const now = () => Math.floor(Date.now() / 1000);

/** A request as Slack would send it, signed with `secret` unless told otherwise. */
function signed(
  rawBody: string,
  options: { contentType?: string; timestamp?: number; signature?: string } = {},
): SlackHttpRequest {
  const timestamp = options.timestamp ?? now();
  return {
    rawBody,
    contentType: options.contentType ?? 'application/json',
    timestamp: String(timestamp),
    signature: options.signature ?? slackSignature(secret, timestamp, rawBody),
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** A receiver whose app hands each event to `listener`. */
function receiverWith(listener: (event: ReceiverEvent) => Promise<void>, onError = jest.fn()) {
  const receiver = new EmbeddedSlackReceiver(secret, onError);
  const events: ReceiverEvent[] = [];
  receiver.init({
    processEvent: (event: ReceiverEvent) => {
      events.push(event);
      return listener(event);
    },
  } as unknown as App);
  return { receiver, events, onError };
}

describe('EmbeddedSlackReceiver', () => {
  test('refuses bad signatures, stale timestamps and missing headers with 401, before any listener runs', async () => {
    const { receiver, events } = receiverWith(async (e) => e.ack());
    const body = JSON.stringify({ type: 'event_callback', event: { type: 'app_home_opened' } });
    const requests = [
      signed(body, { signature: `v0=${'0'.repeat(64)}` }),
      signed(body, { timestamp: now() - 301 }),
      { ...signed(body), signature: undefined },
      { ...signed(body), timestamp: undefined },
      { ...signed(body), rawBody: `${body} ` },
    ];
    for (const request of requests) {
      expect(await receiver.handle(request)).toEqual({
        status: 401,
        body: 'invalid Slack signature',
        contentType: 'text/plain',
      });
    }
    expect(events).toEqual([]);
  });

  test("answers Slack's URL verification with the challenge", async () => {
    const { receiver, events } = receiverWith(async (e) => e.ack());
    const response = await receiver.handle(
      signed(JSON.stringify({ type: 'url_verification', challenge: 'abc123' })),
    );
    expect(response).toEqual({
      status: 200,
      body: '{"challenge":"abc123"}',
      contentType: 'application/json',
    });
    expect(events).toEqual([]);
  });

  test('answers 400 to a signed body it cannot read', async () => {
    const { receiver } = receiverWith(async (e) => e.ack());
    const response = await receiver.handle(
      signed(form({ payload: '{not json' }), { contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(response.status).toBe(400);
  });

  test('decodes interactions from the payload field and commands from the form itself', async () => {
    const { receiver, events } = receiverWith(async (e) => e.ack());
    const contentType = 'application/x-www-form-urlencoded';
    await receiver.handle(
      signed(form({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }) }), {
        contentType,
      }),
    );
    await receiver.handle({
      ...signed(form({ command: '/keyward', text: 'status' }), { contentType }),
      retryNum: '2',
      retryReason: 'http_timeout',
    });
    expect(events.map((e) => e.body)).toEqual([
      { type: 'block_actions', user: { id: 'U1' } },
      { command: '/keyward', text: 'status' },
    ]);
    expect(events[1]).toMatchObject({ retryNum: 2, retryReason: 'http_timeout' });
  });

  test('answers with what the listener acknowledged, without waiting for its work after the ack', async () => {
    let finishWork = () => {};
    const work = new Promise<void>((resolve) => (finishWork = resolve));
    const { receiver } = receiverWith(async (event) => {
      await event.ack({
        response_action: 'errors',
        errors: { reason: 'A denial needs a reason.' },
      });
      await event.ack({ ignored: true });
      await work;
    });
    const response = await receiver.handle(signed(JSON.stringify({ type: 'view_submission' })));
    expect(response).toEqual({
      status: 200,
      body: '{"response_action":"errors","errors":{"reason":"A denial needs a reason."}}',
      contentType: 'application/json',
    });
    finishWork();
  });

  test('answers an empty 200 to a plain ack, and to a listener that ends without one', async () => {
    for (const listener of [async (e: ReceiverEvent) => e.ack(), async () => {}]) {
      const { receiver } = receiverWith(listener);
      expect(await receiver.handle(signed(JSON.stringify({ type: 'event_callback' })))).toEqual({
        status: 200,
        body: '',
        contentType: 'text/plain',
      });
    }
  });

  test('reports a failing listener and still answers', async () => {
    const failure = new Error('listener broke');
    const { receiver, onError } = receiverWith(async () => Promise.reject(failure));
    expect((await receiver.handle(signed(JSON.stringify({ type: 'event_callback' })))).status).toBe(
      200,
    );
    expect(onError).toHaveBeenCalledWith(failure);
  });

  test("answers before Slack's 3 seconds run out when a listener never acknowledges", async () => {
    const { receiver } = receiverWith(() => new Promise<void>(() => {}));
    const started = Date.now();
    const response = await receiver.handle(signed(JSON.stringify({ type: 'event_callback' })));
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
