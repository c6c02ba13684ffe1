import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { LinkSigner } from '../../integrations/email/links';
import { createSecretCipher } from '../../integrations/secrets/cipher';
import { buildApp } from '../../server/app';
import { mintToken } from '../../store/tokens';
import type { JitHarness } from './jit-harness';

export interface ApiResponse {
  status: number;
  /** The parsed JSON answer; its shape is what the tests assert. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the fields it expects
  body: any;
  text: string;
}

export interface CallOptions {
  /** The raw Authorization header; omitted when undefined. */
  authorization?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The real HTTP API on a loopback port, in front of a JitHarness's worker and databases. */
export class ApiHarness {
  private readonly tokens = new Map<string, string>();

  private constructor(
    private readonly harness: JitHarness,
    private readonly app: FastifyInstance,
    readonly baseUrl: string,
  ) {}

  /** With `links`, the email link pages are served too, checked under the harness's key. */
  static async start(harness: JitHarness, options: { links?: boolean } = {}): Promise<ApiHarness> {
    const app = buildApp({
      links: options.links ? new LinkSigner(harness.encryptionKey) : undefined,
      db: harness.db,
      temporal: harness.client,
      policy: () => harness.policy,
      taskQueue: harness.taskQueue,
      logLevel: 'silent',
      // The worker seals under the same key, so what it stores the API opens.
      secretCipher: createSecretCipher(harness.encryptionKey),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return new ApiHarness(harness, app, `http://127.0.0.1:${port}`);
  }

  /** One token per identity, minted the first time it is needed. */
  async tokenFor(identity: string): Promise<string> {
    let token = this.tokens.get(identity);
    if (!token) {
      token = await mintToken(this.harness.db, identity, 'test');
      this.tokens.set(identity, token);
    }
    return token;
  }

  async call(
    method: 'GET' | 'POST',
    path: string,
    options: CallOptions = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    // Fastify refuses an empty body sent as JSON, so the content type goes only with a body.
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
  }

  /** Calls the API with `identity`'s bearer token. */
  as(identity: string) {
    const send = async (
      method: 'GET' | 'POST',
      path: string,
      options: Omit<CallOptions, 'authorization'> = {},
    ) =>
      this.call(method, path, {
        ...options,
        authorization: `Bearer ${await this.tokenFor(identity)}`,
      });
    return {
      get: (path: string) => send('GET', path),
      post: (path: string, body?: unknown, headers?: Record<string, string>) =>
        send('POST', path, { body, headers }),
      /** A POST whose body is sent as it is, with the content type given: for malformed bodies. */
      postRaw: (path: string, raw: string, contentType: string) =>
        this.postRaw(identity, path, raw, contentType),
    };
  }

  private async postRaw(
    identity: string,
    path: string,
    raw: string,
    contentType: string,
  ): Promise<ApiResponse> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await this.tokenFor(identity)}`,
        'content-type': contentType,
      },
      body: raw,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
