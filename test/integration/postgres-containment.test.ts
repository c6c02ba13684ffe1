import { Client } from 'pg';
import { createPostgresConnector } from '../../integrations/connectors/postgres';
import type { TargetConnector } from '../../integrations/connectors/types';
import { ident } from '../support/jit-harness';
import { createTestDatabase, superuserQuery, uniqueName } from '../support/servers';
import type { TestDatabase } from '../support/servers';

// Roles are cluster-wide: each gets a unique name and is dropped at the end.
const run = uniqueName('contain');
const suspect = `${run}_suspect`;
const bystander = `${run}_bystander`;
const odd = `${run} "quoted"`;
const PASSWORD = 'containment-test-password';
let database: TestDatabase;
let connector: TargetConnector;
const clients: Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase('contain');
  connector = createPostgresConnector({ systemId: 'target', connectionString: database.url });
  for (const name of [suspect, bystander, odd]) {
    await superuserQuery(`CREATE ROLE ${ident(name)} LOGIN PASSWORD '${PASSWORD}'`);
  }
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await connector?.close();
  await database?.drop();
  for (const name of [suspect, bystander, odd])
    await superuserQuery(`DROP ROLE IF EXISTS ${ident(name)}`);
});

async function sessionAs(user: string): Promise<Client> {
  const url = new URL(database.url);
  const client = new Client({
    host: url.hostname,
    port: Number(url.port),
    database: database.name,
    user,
    password: PASSWORD,
  });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

const alive = (client: Client) =>
  client.query('SELECT 1').then(
    () => true,
    () => false,
  );

describe('terminateSessions', () => {
  test('ends every session of the login and no one else’s', async () => {
    const [first, second, other] = [
      await sessionAs(suspect),
      await sessionAs(suspect),
      await sessionAs(bystander),
    ];
    expect(await connector.terminateSessions(suspect)).toBe(2);
    expect(await alive(first)).toBe(false);
    expect(await alive(second)).toBe(false);
    expect(await alive(other)).toBe(true);
    // The connector's own sessions survive too: it still answers.
    expect(await connector.terminateSessions(suspect)).toBe(0);
  });
});

describe('setLoginAllowed and loginAllowed', () => {
  test('stop and allow logins without touching the password, for quoted names too', async () => {
    for (const name of [suspect, odd]) {
      await connector.setLoginAllowed(name, false);
      expect(await connector.loginAllowed(name)).toBe(false);
      await expect(sessionAs(name)).rejects.toThrow();
      await connector.setLoginAllowed(name, true);
      expect(await connector.loginAllowed(name)).toBe(true);
      expect(await alive(await sessionAs(name))).toBe(true);
    }
  });

  test('reads a login that does not exist as undefined', async () => {
    expect(await connector.loginAllowed(`${run}_nobody`)).toBeUndefined();
  });
});
