import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../integrations/net/ports';

/**
 * A PostgreSQL cluster of a test's own, as a second target system whose roles are its own
 * (roles are cluster-wide, so a second database in the shared cluster would share them).
 * It can be stopped and started again on the same port and data.
 */
export class SecondCluster {
  private child?: ChildProcess;
  private dir = '';
  private port = 0;
  private currentUrl = '';
  readonly database = 'target';

  private send(command: 'start' | 'stop' | 'exit'): Promise<string | undefined> {
    const child = this.child!;
    return new Promise((resolve, reject) => {
      child.once('message', (reply: { ok: boolean; url?: string; error?: string }) =>
        reply.ok ? resolve(reply.url) : reject(new Error(reply.error)),
      );
      child.send(command);
    });
  }

  async start(): Promise<void> {
    if (!this.child) {
      this.dir = mkdtempSync(join(tmpdir(), 'keyward-second-'));
      // The server runs as a system user of its own, which must be able to reach its data.
      chmodSync(this.dir, 0o711);
      this.port = await freePort();
      this.child = fork(
        join(__dirname, 'second-cluster-process.ts'),
        [join(this.dir, 'postgres'), String(this.port)],
        {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        },
      );
    }
    this.currentUrl = (await this.send('start'))!;
  }

  get url(): string {
    if (!this.currentUrl) throw new Error('the second cluster has not been started');
    return this.currentUrl;
  }

  /** A connection string that logs in as `login`, for session and login checks. */
  urlAs(login: string, password: string): string {
    const [user, pass] = [login, password].map(encodeURIComponent);
    return `postgres://${user}:${pass}@127.0.0.1:${this.port}/${this.database}`;
  }

  async query(sql: string, params: unknown[] = []) {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.send('stop');
  }

  /** Stops the cluster, ends its process and removes its files. */
  async destroy(): Promise<void> {
    if (this.child) {
      const exited = new Promise((resolve) => this.child!.once('exit', resolve));
      this.child.send('exit');
      await exited;
      this.child = undefined;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
