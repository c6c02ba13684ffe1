import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createPostgresConnector } from '../../integrations/connectors/postgres';
import { SCRAM_VERIFIER, scramVerifier } from '../../integrations/connectors/scram';
import { ConnectorError, type TargetConnector } from '../../integrations/connectors/types';
import {
  createTestDatabase,
  superuserQuery,
  uniqueName,
  type TestDatabase,
} from '../support/servers';

// Roles are shared by the whole cluster, so every role here has a unique name and is dropped at the end.
const createdRoles: string[] = [];
const sessions: Client[] = [];
let database: TestDatabase;
let connector: TargetConnector;

const newPassword = () => `pw-${randomBytes(12).toString('base64url')}`;

/** Quotes with PostgreSQL's own quote_ident, so set-up does not depend on the code under test. */
async function sqlName(name: string): Promise<string> {
  const { rows } = await superuserQuery('SELECT quote_ident($1::text) AS quoted', [name]);
  return rows[0].quoted as string;
}

async function createRole(name: string, options = 'NOLOGIN'): Promise<string> {
  expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
  await superuserQuery(`CREATE ROLE ${await sqlName(name)} ${options}`);
  createdRoles.push(name);
  return name;
}

async function authOf(name: string): Promise<{ rolcanlogin: boolean; rolpassword: string | null }> {
  const { rows } = await superuserQuery(
    'SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1',
    [name],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as { rolcanlogin: boolean; rolpassword: string | null };
}

/** A plain pg client as `user`, built without the code under test. */
function clientAs(user: string, password: string): Client {
  const url = new URL(database.url);
  const client = new Client({
    host: url.hostname,
    port: Number(url.port),
    database: database.name,
    user,
    password,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {});
  return client;
}

/** A session that stays open; afterAll closes any a test leaves open. */
async function openSession(user: string, password: string): Promise<Client> {
  const client = clientAs(user, password);
  sessions.push(client);
  await client.connect();
  return client;
}

async function logsIn(user: string, password: string): Promise<boolean> {
  const client = clientAs(user, password);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    expect(String((error as { code?: unknown }).code)).toMatch(/^28/);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function failureOf(work: Promise<unknown>): Promise<ConnectorError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

beforeAll(async () => {
  database = await createTestDatabase('kw_pglogin');
  connector = createPostgresConnector({ systemId: 'pg-test', connectionString: database.url });
});

afterAll(async () => {
  await Promise.all(sessions.map((session) => session.end().catch(() => {})));
  await connector?.close();
  await database?.drop();
  for (const name of createdRoles)
    await superuserQuery(`DROP ROLE IF EXISTS ${await sqlName(name)}`);
});

describe('scramVerifier', () => {
  it('computes the verifier PostgreSQL itself stores for a password with the same salt and cost', async () => {
    const login = await createRole(uniqueName('kw_scram'));
    const password = newPassword();
    await superuserQuery(
      `SET password_encryption = 'scram-sha-256'; ALTER ROLE ${await sqlName(login)} PASSWORD '${password}'`,
    );
    const { rolpassword } = await authOf(login);
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(rolpassword ?? '') ?? [];

    expect(scramVerifier(password, Buffer.from(salt, 'base64'), Number(iterations))).toBe(
      rolpassword,
    );
  });

  it('writes the form the connector accepts, with a fresh salt and 4096 iterations by default', () => {
    const password = newPassword();
    const first = scramVerifier(password);
    const second = scramVerifier(password);

    expect(first).toMatch(SCRAM_VERIFIER);
    expect(first.startsWith('SCRAM-SHA-256$4096:')).toBe(true);
    expect(first).not.toBe(second);
    expect(first).not.toContain(password);
  });

  it.each([
    ['an empty password', ''],
    ['a password with a space', 'pass word'],
    ['a password with a non-ASCII character', 'pässword'],
    ['a password with a control character', 'pass\nword'],
  ])('refuses %s', (_, password) => {
    expect(() => scramVerifier(password)).toThrow(
      'a SCRAM password from keyward must be printable ASCII without spaces',
    );
  });
});

describe('setPasswordVerifier', () => {
  it('lets the login log in with the password, and refuses another without naming either', async () => {
    const login = await createRole(uniqueName('kw_etl'), 'LOGIN');
    const password = newPassword();
    const wrong = newPassword();

    await connector.setPasswordVerifier(login, scramVerifier(password), { enableLogin: false });

    await expect(connector.checkLogin(login, password)).resolves.toBeUndefined();
    expect(await logsIn(login, password)).toBe(true);
    expect(await logsIn(login, wrong)).toBe(false);
    const refused = await failureOf(connector.checkLogin(login, wrong));
    expect(refused.kind).toBe('permission-denied');
    expect(refused.retryable).toBe(false);
    expect(refused.message).toBe(
      `Could not log in as ${login} on pg-test: password authentication failed for user "${login}"`,
    );
    for (const secret of [password, wrong]) {
      expect(refused.message).not.toContain(secret);
      expect(JSON.stringify(refused.cause ?? null)).not.toContain(secret);
    }
  });

  it('stores exactly the verifier, so the password itself never reaches the server', async () => {
    const login = await createRole(uniqueName('kw_etl'), 'LOGIN');
    const password = newPassword();
    const verifier = scramVerifier(password);

    await connector.setPasswordVerifier(login, verifier, { enableLogin: false });

    expect((await authOf(login)).rolpassword).toBe(verifier);
  });

  it('keeps a session opened with the previous password running, while only the new password logs in', async () => {
    const login = await createRole(uniqueName('kw_etl'), 'LOGIN');
    const before = newPassword();
    const after = newPassword();
    await connector.setPasswordVerifier(login, scramVerifier(before), { enableLogin: false });
    const session = await openSession(login, before);

    await connector.setPasswordVerifier(login, scramVerifier(after), { enableLogin: false });

    const { rows } = await session.query('SELECT current_user AS who');
    expect(rows).toEqual([{ who: login }]);
    expect(await logsIn(login, before)).toBe(false);
    expect(await logsIn(login, after)).toBe(true);
  });

  it('turns a NOLOGIN role into a login only when asked to', async () => {
    const login = await createRole(uniqueName('kw_standby'), 'NOLOGIN');
    const password = newPassword();

    await connector.setPasswordVerifier(login, scramVerifier(password), { enableLogin: false });
    expect((await authOf(login)).rolcanlogin).toBe(false);
    expect((await failureOf(connector.checkLogin(login, password))).kind).toBe('permission-denied');

    await connector.setPasswordVerifier(login, scramVerifier(password), { enableLogin: true });
    expect((await authOf(login)).rolcanlogin).toBe(true);
    await expect(connector.checkLogin(login, password)).resolves.toBeUndefined();
    expect(await logsIn(login, password)).toBe(true);
  });

  it.each([
    ['a verifier containing a quote', (v: string) => `${v.slice(0, 20)}'${v.slice(21)}`],
    ['a statement smuggled after the verifier', (v: string) => `${v}' SUPERUSER PASSWORD '${v}`],
    ['a verifier with a trailing newline', (v: string) => `${v}\n`],
    ['a plain password', () => 'Zq8vN2kLm4Rt7wXy'],
    ['an MD5 hash', () => `md5${'0123456789abcdef'.repeat(2)}`],
  ])('refuses %s as invalid input and changes nothing', async (_, make) => {
    const login = await createRole(uniqueName('kw_etl'), 'NOLOGIN');
    const password = newPassword();
    const verifier = scramVerifier(password);
    await connector.setPasswordVerifier(login, verifier, { enableLogin: false });
    const bad = make(scramVerifier(newPassword()));

    const error = await failureOf(connector.setPasswordVerifier(login, bad, { enableLogin: true }));

    expect(error.kind).toBe('invalid-input');
    expect(error.message).toBe(
      `Could not set the password of ${login} on pg-test: that is not a SCRAM verifier`,
    );
    const { rows } = await superuserQuery(
      'SELECT rolcanlogin, rolsuper, rolpassword FROM pg_authid WHERE rolname = $1',
      [login],
    );
    expect(rows).toEqual([{ rolcanlogin: false, rolsuper: false, rolpassword: verifier }]);
  });

  it('reports a login that does not exist as an unknown object, without the verifier', async () => {
    const missing = uniqueName('kw_missing');
    const verifier = scramVerifier(newPassword());

    const error = await failureOf(
      connector.setPasswordVerifier(missing, verifier, { enableLogin: true }),
    );

    expect(error.kind).toBe('unknown-object');
    expect(error.message).toBe(
      `Could not set the password of ${missing} on pg-test: role "${missing}" does not exist`,
    );
  });
});

describe('checkLogin', () => {
  it('refuses an empty password as invalid input with a readable message', async () => {
    const login = await createRole(uniqueName('kw_etl'), 'LOGIN');

    const error = await failureOf(connector.checkLogin(login, ''));

    expect(error.kind).toBe('invalid-input');
    expect(error.message).toBe(`Could not log in as ${login} on pg-test: the password is empty`);
  });

  it('refuses a login that does not exist as permission denied, like a wrong password', async () => {
    const missing = uniqueName('kw_missing');

    const error = await failureOf(connector.checkLogin(missing, newPassword()));

    expect(error.kind).toBe('permission-denied');
    expect(error.message).toBe(
      `Could not log in as ${missing} on pg-test: password authentication failed for user "${missing}"`,
    );
  });
});

describe('disableLogin', () => {
  it('stops the login from logging in and forgets its password, while an open session goes on', async () => {
    const login = await createRole(uniqueName('kw_blue'), 'NOLOGIN');
    const password = newPassword();
    await connector.setPasswordVerifier(login, scramVerifier(password), { enableLogin: true });
    const session = await openSession(login, password);

    await connector.disableLogin(login);

    expect(await authOf(login)).toEqual({ rolcanlogin: false, rolpassword: null });
    expect(await logsIn(login, password)).toBe(false);
    expect((await failureOf(connector.checkLogin(login, password))).kind).toBe('permission-denied');
    await expect(session.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('succeeds again on a login that is already disabled', async () => {
    const login = await createRole(uniqueName('kw_blue'), 'NOLOGIN');

    await connector.disableLogin(login);
    await connector.disableLogin(login);

    expect(await authOf(login)).toEqual({ rolcanlogin: false, rolpassword: null });
  });
});

describe('membershipsOf', () => {
  it('lists the roles the login is a direct member of, sorted', async () => {
    const login = await createRole(uniqueName('kw_green'), 'LOGIN');
    const suffix = randomBytes(4).toString('hex');
    const roles = [`kw_zed_${suffix}`, `kw_Bea_${suffix}`, `kw_amy_${suffix}`];
    for (const role of roles) {
      await createRole(role);
      await superuserQuery(`GRANT ${await sqlName(role)} TO ${await sqlName(login)}`);
    }
    const inherited = await createRole(`kw_parent_${suffix}`);
    await superuserQuery(`GRANT ${await sqlName(inherited)} TO ${await sqlName(roles[0])}`);

    await expect(connector.membershipsOf(login)).resolves.toEqual([...roles].sort());
  });

  it('lists a role once when several grantors granted it', async () => {
    const login = await createRole(uniqueName('kw_green'), 'LOGIN');
    const role = await createRole(uniqueName('kw_reader'));
    const admin = await createRole(uniqueName('kw_admin'));
    await superuserQuery(
      `GRANT ${await sqlName(role)} TO ${await sqlName(admin)} WITH ADMIN OPTION`,
    );
    await superuserQuery(
      `GRANT ${await sqlName(role)} TO ${await sqlName(login)} GRANTED BY ${await sqlName(admin)}`,
    );
    await superuserQuery(`GRANT ${await sqlName(role)} TO ${await sqlName(login)}`);

    await expect(connector.membershipsOf(login)).resolves.toEqual([role]);
  });

  it('lists nothing for a login without memberships', async () => {
    await expect(
      connector.membershipsOf(await createRole(uniqueName('kw_green'))),
    ).resolves.toEqual([]);
  });
});

describe('names that need quoting', () => {
  it('sets, checks, lists and disables a login whose name has quotes, spaces and unicode', async () => {
    const bystander = await createRole(uniqueName('kw_by'), 'NOLOGIN');
    const login = await createRole(
      `kw o'brien "bot" zoë ✓ ${randomBytes(3).toString('hex')}`,
      'NOLOGIN',
    );
    const role = await createRole(
      `kw "readers"; GRANT pg_monitor TO ${bystander}; -- ${randomBytes(3).toString('hex')}`,
    );
    await superuserQuery(`GRANT ${await sqlName(role)} TO ${await sqlName(login)}`);
    const password = newPassword();

    await connector.setPasswordVerifier(login, scramVerifier(password), { enableLogin: true });
    await expect(connector.checkLogin(login, password)).resolves.toBeUndefined();
    expect(await logsIn(login, password)).toBe(true);
    await expect(connector.membershipsOf(login)).resolves.toEqual([role]);

    await connector.disableLogin(login);
    expect(await authOf(login)).toEqual({ rolcanlogin: false, rolpassword: null });
    expect(await authOf(bystander)).toEqual({ rolcanlogin: false, rolpassword: null });
    await expect(connector.membershipsOf(bystander)).resolves.toEqual([]);
  });

  it.each([
    ['an empty name', ''],
    ['a name over 63 bytes', 'é'.repeat(32)],
    ['a name containing NUL', 'kw_etl\0'],
  ])('refuses %s as invalid input', async (_, name) => {
    const verifier = scramVerifier(newPassword());
    for (const work of [
      connector.setPasswordVerifier(name, verifier, { enableLogin: true }),
      connector.disableLogin(name),
      connector.membershipsOf(name),
      connector.checkLogin(name, newPassword()),
    ]) {
      expect((await failureOf(work)).kind).toBe('invalid-input');
    }
  });
});
