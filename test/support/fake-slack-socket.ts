import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

/**
 * Slack's Socket Mode on loopback: `apps.connections.open` hands out a WebSocket URL on this
 * same server, which greets the client with "hello", delivers envelopes, and collects the
 * client's acknowledgements. Other Web API methods answer ok and are recorded.
 */
export class FakeSlackSocket {
  readonly calls: string[] = [];
  readonly acks: string[] = [];
  url = '';
  private server?: Server;
  private sockets?: WebSocketServer;
  private client?: WebSocket;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const method = (req.url ?? '').replace(/^\/api\//, '');
      this.calls.push(method);
      const port = (this.server!.address() as { port: number }).port;
      const body =
        method === 'apps.connections.open'
          ? { ok: true, url: `ws://127.0.0.1:${port}/link` }
          : { ok: true, user_id: 'UKEYWARD', team_id: 'T0001', channel: 'D0001', ts: '1.0' };
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    this.sockets = new WebSocketServer({ server: this.server });
    this.sockets.on('connection', (socket) => {
      this.client = socket;
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { envelope_id?: string };
        if (message.envelope_id) this.acks.push(message.envelope_id);
      });
      socket.send(
        JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0001' } }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/api/`;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Delivers an interaction over the socket, as Slack does in Socket Mode. */
  deliver(envelopeId: string, payload: unknown): void {
    this.client!.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: 'interactive',
        accepts_response_payload: true,
        payload,
      }),
    );
  }

  /** Closes each socket with a close handshake, as Slack does, so the client has nothing to wait for. */
  async stop(): Promise<void> {
    const open = [...(this.sockets?.clients ?? [])];
    await Promise.all(
      open.map(
        (socket) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => socket.terminate(), 2_000);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.close(1000, 'test over');
          }),
      ),
    );
    await new Promise<void>((resolve) => this.sockets?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
