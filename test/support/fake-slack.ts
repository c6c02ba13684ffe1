import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** What the fake answered. */
  result?: Record<string, unknown>;
}

interface Users {
  /** Slack user id → email, for users.info. */
  emails?: Record<string, string>;
}

/**
 * A loopback stand-in for Slack's Web API: it answers the methods keyward uses, records every
 * call with its decoded arguments and its answer, and can answer 429 with Retry-After or an
 * error like Slack does.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  private server?: Server;
  private ts = 1_700_000_000;
  private readonly failures: { method: string; retryAfter: number }[] = [];
  private readonly errors: { method: string; error: string }[] = [];
  url = '';

  constructor(private readonly users: Users = {}) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.body(req).then((raw) => {
        const path = req.url ?? '';
        const args = decode(raw, req.headers['content-type'] ?? '');
        if (path.startsWith('/response/')) {
          this.calls.push({ method: 'response_url', args });
          return send(res, 200, { ok: true });
        }
        const method = path.replace(/^\/api\//, '').split('?')[0];
        const failure = this.failures.findIndex((f) => f.method === method);
        if (failure >= 0) {
          const { retryAfter } = this.failures.splice(failure, 1)[0];
          this.calls.push({ method: `${method} (429)`, args });
          res.setHeader('retry-after', String(retryAfter));
          return send(res, 429, { ok: false, error: 'ratelimited' });
        }
        const error = this.errors.findIndex((e) => e.method === method);
        const result =
          error >= 0
            ? { ok: false, error: this.errors.splice(error, 1)[0].error }
            : this.answer(method, args);
        this.calls.push({ method, args, result });
        send(res, 200, result);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/api/`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next call of `method` is answered 429 with this Retry-After, in seconds. */
  rateLimitNext(method: string, retryAfter = 1): void {
    this.failures.push({ method, retryAfter });
  }

  /** The next call of `method` is answered with Slack's error `error` (message_not_found, ...). */
  failNext(method: string, error: string): void {
    this.errors.push({ method, error });
  }

  /** The messages posted (and answered ok) that `match` accepts, each with the channel and ts Slack gave it. */
  posted(
    match: (args: Record<string, unknown>) => boolean,
  ): { args: Record<string, unknown>; channel: string; ts: string }[] {
    return this.calls
      .filter((c) => c.method === 'chat.postMessage' && c.result?.ok && match(c.args))
      .map((c) => ({ args: c.args, channel: String(c.result!.channel), ts: String(c.result!.ts) }));
  }

  /** The arguments of every call of `method`, from position `since` in the call log on. */
  callsOf(method: string, since = 0): Record<string, unknown>[] {
    return this.calls
      .slice(since)
      .filter((c) => c.method === method)
      .map((c) => c.args);
  }

  /** The position in the call log now, to look only at what comes after it. */
  mark(): number {
    return this.calls.length;
  }

  responseUrl(id: string): string {
    return this.url.replace(/\/api\/$/, `/response/${id}`);
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UKEYWARD', bot_id: 'BKEYWARD', team_id: 'T0001' };
      case 'chat.postMessage': {
        const channel = String(args.channel);
        // Posting to a user id lands in the app's DM with them, which has an id of its own.
        return {
          ok: true,
          channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel,
          ts: `${++this.ts}.000100`,
        };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${++this.ts}.000200` };
      case 'views.open':
      case 'views.publish':
        return { ok: true, view: { id: 'V0001' } };
      case 'users.info': {
        const email = this.users.emails?.[String(args.user)];
        return { ok: true, user: { id: args.user, profile: email ? { email } : {} } };
      }
      case 'users.lookupByEmail': {
        const found = Object.entries(this.users.emails ?? {}).find(
          ([, email]) => email === args.email,
        );
        return found
          ? { ok: true, user: { id: found[0] } }
          : { ok: false, error: 'users_not_found' };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private body(req: IncomingMessage): Promise<string> {
    return new Promise((resolve) => {
      let data = '';
      req.on('data', (chunk) => (data += chunk));
      req.on('end', () => resolve(data));
    });
  }
}

function decode(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return raw ? JSON.parse(raw) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The Web API client sends structured arguments (blocks, view) as JSON text inside the form.
    args[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return args;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Signs a request body exactly as Slack does: v0=HMAC-SHA256(secret, "v0:<timestamp>:<body>"). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Delivers an interaction, command or event to keyward's Slack endpoint, signed like Slack. */
export async function deliverToSlackEndpoint(
  endpoint: string,
  secret: string,
  payload: { form?: Record<string, string>; json?: unknown },
  options: { timestamp?: number; signature?: string } = {},
): Promise<Response> {
  const body =
    payload.json !== undefined
      ? JSON.stringify(payload.json)
      : new URLSearchParams(payload.form).toString();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type':
        payload.json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
}
