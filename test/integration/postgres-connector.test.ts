import { randomBytes } from 'node:crypto';
import { createPostgresConnector, quoteIdent } from '../../integrations/connectors/postgres';
import { ConnectorError, type RoleConnector } from '../../integrations/connectors/types';
import { freePort } from '../../integrations/net/ports';
import {
  createTestDatabase,
  superuserQuery,
  uniqueName,
  type TestDatabase,
} from '../support/servers';

// Roles are shared by the whole cluster, so every role here has a unique name and is dropped at the end.
const createdRoles: string[] = [];
const connectors: RoleConnector[] = [];
let database: TestDatabase;
let connector: RoleConnector;

/** Quotes with PostgreSQL's own quote_ident, so set-up does not depend on the code under test. */
async function sqlName(name: string): Promise<string> {
  const { rows } = await superuserQuery('SELECT quote_ident($1::text) AS quoted', [name]);
  return rows[0].quoted as string;
}

async function createRole(name: string, options = 'NOLOGIN'): Promise<string> {
  // PostgreSQL would truncate a longer name and the test would then look for a role that is not there.
  expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
  await superuserQuery(`CREATE ROLE ${await sqlName(name)} ${options}`);
  createdRoles.push(name);
  return name;
}

async function roleExists(name: string): Promise<boolean> {
  const { rowCount } = await superuserQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  return rowCount === 1;
}

/** Rows in pg_auth_members: one per grantor since PostgreSQL 16. */
async function membershipRows(role: string, member: string): Promise<number> {
  const { rows } = await superuserQuery(
    `SELECT count(*)::int AS n FROM pg_auth_members m
     JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
     WHERE r.rolname = $1 AND u.rolname = $2`,
    [role, member],
  );
  return rows[0].n as number;
}

/** Every membership that involves the given role, on either side. */
async function membershipsOf(name: string): Promise<string[]> {
  const { rows } = await superuserQuery(
    `SELECT r.rolname || ' <- ' || u.rolname AS edge FROM pg_auth_members m
     JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
     WHERE r.rolname = $1 OR u.rolname = $1 ORDER BY 1`,
    [name],
  );
  return rows.map((row) => row.edge as string);
}

function connect(connectionString: string, systemId = 'pg-test'): RoleConnector {
  const created = createPostgresConnector({ systemId, connectionString });
  connectors.push(created);
  return created;
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
  database = await createTestDatabase('kw_pgconn');
  connector = connect(database.url);
});

afterAll(async () => {
  await Promise.all(connectors.map((each) => each.close()));
  // Roles go in creation order: dropping a role first removes the memberships in it that others granted.
  for (const name of createdRoles)
    await superuserQuery(`DROP ROLE IF EXISTS ${await sqlName(name)}`);
  await database?.drop();
});

describe('granting', () => {
  it('grants membership, which PostgreSQL then records', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');

    await expect(connector.ensureGranted(role, member)).resolves.toEqual({ changed: true });
    expect(await membershipRows(role, member)).toBe(1);
    await expect(connector.listMembers(role)).resolves.toEqual([member]);
  });

  it('grants membership once when asked twice', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');

    await expect(connector.ensureGranted(role, member)).resolves.toEqual({ changed: true });
    await expect(connector.ensureGranted(role, member)).resolves.toEqual({ changed: false });
    expect(await membershipRows(role, member)).toBe(1);
  });

  it('succeeds for every one of several concurrent grants of the same membership', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');
    const second = connect(database.url);

    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        (i % 2 === 0 ? connector : second).ensureGranted(role, member),
      ),
    );
    expect(results.some((result) => result.changed)).toBe(true);
    expect(await membershipRows(role, member)).toBe(1);
  });

  it('lists members sorted', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const suffix = randomBytes(4).toString('hex');
    const members = [`kw_zed_${suffix}`, `kw_Bea_${suffix}`, `kw_amy_${suffix}`];
    for (const member of members) await connector.ensureGranted(role, await createRole(member));

    await expect(connector.listMembers(role)).resolves.toEqual([...members].sort());
    await expect(connector.listMembers(await createRole(uniqueName('kw_empty')))).resolves.toEqual(
      [],
    );
  });
});

describe('revoking', () => {
  it('revokes a membership', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');
    await connector.ensureGranted(role, member);

    await expect(connector.ensureRevoked(role, member)).resolves.toEqual({ changed: true });
    expect(await membershipRows(role, member)).toBe(0);
    await expect(connector.listMembers(role)).resolves.toEqual([]);
  });

  it('changes nothing when the member is not a member', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');

    await expect(connector.ensureRevoked(role, member)).resolves.toEqual({ changed: false });
    await expect(connector.ensureRevoked(role, uniqueName('kw_nobody'))).resolves.toEqual({
      changed: false,
    });
  });

  it('revokes grants that other roles made as well', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');
    const admin = await createRole(uniqueName('kw_admin'));
    await superuserQuery(
      `GRANT ${await sqlName(role)} TO ${await sqlName(admin)} WITH ADMIN OPTION`,
    );
    await superuserQuery(
      `GRANT ${await sqlName(role)} TO ${await sqlName(member)} GRANTED BY ${await sqlName(admin)}`,
    );
    await superuserQuery(`GRANT ${await sqlName(role)} TO ${await sqlName(member)}`);
    expect(await membershipRows(role, member)).toBe(2);

    await expect(connector.ensureRevoked(role, member)).resolves.toEqual({ changed: true });
    expect(await membershipRows(role, member)).toBe(0);
  });
});

describe('names', () => {
  it('grants, lists and revokes roles whose names need quoting, and runs nothing else', async () => {
    const bystander = await createRole(uniqueName('kw_by'), 'LOGIN');
    const role = await createRole(`Analyst "Read"; DROP ROLE ${bystander}; --`);
    const member = await createRole(`zoë o'brien"; GRANT pg_monitor TO ${bystander}`, 'LOGIN');

    await expect(connector.ensureGranted(role, member)).resolves.toEqual({ changed: true });
    await expect(connector.ensureGranted(role, member)).resolves.toEqual({ changed: false });
    await expect(connector.listMembers(role)).resolves.toEqual([member]);
    expect(await membershipsOf(role)).toEqual([`${role} <- ${member}`]);
    expect(await membershipsOf(member)).toEqual([`${role} <- ${member}`]);

    await expect(connector.ensureRevoked(role, member)).resolves.toEqual({ changed: true });
    expect(await membershipsOf(role)).toEqual([]);
    expect(await roleExists(bystander)).toBe(true);
    expect(await membershipsOf(bystander)).toEqual([]);
    expect(await roleExists(`Analyst "Read"`)).toBe(false);
  });

  it('quotes by doubling embedded double quotes', () => {
    expect(quoteIdent('analyst')).toBe('"analyst"');
    expect(quoteIdent('Analyst "Read"; DROP ROLE x')).toBe('"Analyst ""Read""; DROP ROLE x"');
    expect(quoteIdent('zoë')).toBe('"zoë"');
    expect(quoteIdent('é'.repeat(31) + 'a')).toBe(`"${'é'.repeat(31)}a"`);
  });

  it.each([
    ['an empty name', ''],
    ['a name over 63 bytes', 'a'.repeat(64)],
    ['a name of 32 characters that is 64 bytes in UTF-8', 'é'.repeat(32)],
    ['a name containing NUL', 'analyst\0'],
  ])('refuses %s as invalid input before reaching the server', async (_, name) => {
    expect(() => quoteIdent(name)).toThrow(ConnectorError);
    const unreachable = connect(`postgres://nobody:pw@127.0.0.1:${await freePort()}/postgres`);
    const member = uniqueName('kw_alice');
    for (const work of [
      unreachable.ensureGranted(name, member),
      unreachable.ensureGranted(member, name),
      unreachable.ensureRevoked(name, member),
      unreachable.listMembers(name),
    ]) {
      expect((await failureOf(work)).kind).toBe('invalid-input');
    }
  });

  it('does not let a 64-byte name reach the role its first 63 bytes name', async () => {
    const role = await createRole(`kw_${randomBytes(30).toString('hex')}`);
    expect(Buffer.byteLength(role)).toBe(63);
    await connector.ensureGranted(role, await createRole(uniqueName('kw_alice')));

    expect((await failureOf(connector.listMembers(`${role}x`))).kind).toBe('invalid-input');
  });
});

describe('failures', () => {
  it('reports permission denied, naming role and member but not the password', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');
    const login = uniqueName('kw_limited');
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await createRole(login, `LOGIN NOCREATEROLE NOSUPERUSER PASSWORD '${password}'`);
    const url = new URL(database.url);
    url.username = login;
    url.password = password;
    const limited = connect(url.toString(), 'pg-demo');

    const error = await failureOf(limited.ensureGranted(role, member));
    expect(error.kind).toBe('permission-denied');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `Could not grant role ${role} to ${member} on pg-demo: permission denied to grant role "${role}"`,
    );
    expect(error.message).not.toContain(password);
    expect(await membershipRows(role, member)).toBe(0);
  });

  it('reports an unknown role or member as an unknown object', async () => {
    const role = await createRole(uniqueName('kw_analyst'));
    const member = await createRole(uniqueName('kw_alice'), 'LOGIN');
    const missing = uniqueName('kw_missing');

    const unknownRole = await failureOf(connector.ensureGranted(missing, member));
    expect(unknownRole.kind).toBe('unknown-object');
    expect(unknownRole.message).toBe(
      `Could not grant role ${missing} to ${member} on pg-test: role "${missing}" does not exist`,
    );
    expect((await failureOf(connector.ensureGranted(role, missing))).kind).toBe('unknown-object');
    const listed = await failureOf(connector.listMembers(missing));
    expect(listed.kind).toBe('unknown-object');
    expect(listed.message).toBe(
      `Could not list members of role ${missing} on pg-test: role "${missing}" does not exist`,
    );
  });

  it('reports an unreachable server as transient without the connection string', async () => {
    const port = await freePort();
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const down = connect(`postgres://keyward:${password}@127.0.0.1:${port}/postgres`, 'pg-down');

    for (const work of [
      down.ensureGranted('kw_analyst', 'kw_alice'),
      down.listMembers('kw_analyst'),
    ]) {
      const error = await failureOf(work);
      expect(error.kind).toBe('transient');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(
        /^Could not (grant role kw_analyst to kw_alice|list members of role kw_analyst) /,
      );
      expect(error.message).toContain(`on pg-down: connect ECONNREFUSED 127.0.0.1:${port}`);
      expect(error.message).not.toContain(password);
      expect(JSON.stringify(error.cause ?? null)).not.toContain(password);
    }
  });

  it('refuses work after close', async () => {
    const closed = createPostgresConnector({ systemId: 'pg-test', connectionString: database.url });
    await closed.close();
    await closed.close();

    expect((await failureOf(closed.listMembers('kw_analyst'))).message).toBe(
      'Could not list members of role kw_analyst on pg-test: the connector is closed',
    );
  });
});
