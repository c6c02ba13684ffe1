import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The shared servers that globalSetup started. */
export function testServers() {
  const address = process.env.KEYWARD_TEST_TEMPORAL_ADDRESS;
  const pgUrl = process.env.KEYWARD_TEST_PG_URL;
  const bundlePath = process.env.KEYWARD_TEST_WORKFLOW_BUNDLE;
  if (!address || !pgUrl || !bundlePath)
    throw new Error('the test servers are not running; run the suite with jest');
  return { address, pgUrl, bundlePath };
}

/** A unique name for a test's databases, task queues and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function asSuperuser<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testServers().pgUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database in the shared cluster; `drop` removes it and anything connected. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await asSuperuser((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(testServers().pgUrl, name),
    drop: () =>
      asSuperuser((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(
        () => {},
      ),
  };
}

/** Runs SQL as the cluster's superuser, for setting up and inspecting targets. */
export function superuserQuery(sql: string, params: unknown[] = [], database = 'postgres') {
  return (async () => {
    const client = new Client({ connectionString: withDatabase(testServers().pgUrl, database) });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  })();
}
