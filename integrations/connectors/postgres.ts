import { Client, Pool } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { SCRAM_VERIFIER } from './scram';
import { ConnectorError, type ConnectorErrorKind, type TargetConnector } from './types';

/** PostgreSQL silently truncates longer names (NAMEDATALEN - 1), which would name another role. */
const MAX_IDENTIFIER_BYTES = 63;

/** Quotes a role name for SQL; anything PostgreSQL would truncate or reject is refused first. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new ConnectorError('invalid-input', 'the name is empty');
  if (name.includes('\0'))
    throw new ConnectorError('invalid-input', `the name ${JSON.stringify(name)} contains NUL`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ConnectorError(
      'invalid-input',
      `the name ${name} is longer than ${MAX_IDENTIFIER_BYTES} bytes`,
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

// Errors are read by shape, not instanceof: those raised inside Node's own modules come from
// another realm under some runners, where instanceof Error is false.
const fieldOf = (error: unknown, key: string): unknown =>
  typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;

const TRANSIENT_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '55P03',
  '40001',
  '40P01',
  '25006',
]);
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '58', 'XX'];
const PROGRAMMING_ERRORS = ['TypeError', 'RangeError', 'ReferenceError'];
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Only failures that a later attempt can get past are transient: the network, a server that is starting,
 * stopping, read-only during a failover, out of resources or failing internally, timeouts, serialization
 * failures, deadlocks, and pg's own connection errors, which carry no code. Any other answer from the server
 * (bad input, a grant it refuses as circular, ...) will be the same next time, so it is invalid-input and
 * never retried, like programming errors and local configuration problems such as a malformed URL.
 */
function kindOf(error: unknown): ConnectorErrorKind {
  const code = fieldOf(error, 'code');
  if (typeof code !== 'string') {
    return PROGRAMMING_ERRORS.includes(String(fieldOf(error, 'name')))
      ? 'invalid-input'
      : 'transient';
  }
  if (code === '42501' || code.startsWith('28')) return 'permission-denied';
  if (code === '42704' || code === '3D000') return 'unknown-object';
  if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2)))
    return 'transient';
  return TRANSIENT_NODE_CODES.has(code) ? 'transient' : 'invalid-input';
}

/** Two sessions inserting the same pg_auth_members row at once; the loser's work is already done. */
function isConcurrentUpdate(error: unknown): boolean {
  const code = fieldOf(error, 'code');
  return (
    code === '23505' ||
    (code === 'XX000' && String(fieldOf(error, 'message')).includes('concurrently'))
  );
}

const MEMBERSHIP_SQL = `SELECT g.rolname AS grantor FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member LEFT JOIN pg_roles g ON g.oid = m.grantor
  WHERE r.rolname = $1 AND u.rolname = $2`;

const MEMBERS_SQL = `SELECT u.rolname AS member FROM pg_roles r
  LEFT JOIN pg_auth_members m ON m.roleid = r.oid LEFT JOIN pg_roles u ON u.oid = m.member
  WHERE r.rolname = $1`;

const MEMBERSHIPS_SQL = `SELECT DISTINCT r.rolname AS role FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
  WHERE u.rolname = $1 ORDER BY 1`;

const CAN_LOGIN_SQL = 'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1';

// Every backend of the login. The pids are materialised first: in a plain WHERE the planner may call
// pg_terminate_backend before the usename test, ending everyone's sessions. Needs pg_signal_backend.
const TERMINATE_SQL = `WITH sessions AS MATERIALIZED (
    SELECT pid FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid())
  SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS ended FROM sessions`;

/**
 * Manages role membership and login passwords in one PostgreSQL cluster through a small pool
 * of connections.
 */
export function createPostgresConnector(options: {
  systemId: string;
  connectionString: string;
}): TargetConnector {
  const { systemId, connectionString } = options;
  const pool = new Pool({
    connectionString,
    max: 4,
    connectionTimeoutMillis: 5_000,
    // A GRANT queued behind someone else's lock fails as transient instead of hanging the activity.
    lock_timeout: 5_000,
    statement_timeout: 15_000,
    application_name: 'keyward',
  });
  // An idle connection the server drops is reported here; unheard, it would crash the process.
  pool.on('error', () => {});
  let closing: Promise<void> | undefined;

  const secrets = [connectionString, ...passwordsIn(connectionString)].filter((s) => s.length > 0);
  // An empty secret would split the text between every character, so it is left out.
  const redact = (text: string, more: string[]) =>
    [...secrets, ...more]
      .filter((s) => s.length > 0)
      .reduce((out, secret) => out.split(secret).join('***'), text);

  /** Runs one action, turning any failure into a ConnectorError whose message holds no secret. */
  async function attempt<T>(
    action: string,
    work: () => Promise<T>,
    alsoSecret: string[] = [],
  ): Promise<T> {
    try {
      if (closing) throw new ConnectorError('invalid-input', 'the connector is closed');
      return await work();
    } catch (error) {
      const kind = error instanceof ConnectorError ? error.kind : kindOf(error);
      const detail = redact(
        String(fieldOf(error, 'message') || fieldOf(error, 'code') || error),
        alsoSecret,
      );
      // Only the server's own answer is kept as the cause: other errors (a malformed URL, say) can
      // carry the connection string, which holds the password, in their properties.
      const cause = fieldOf(error, 'severity') === undefined ? undefined : error;
      throw new ConnectorError(kind, `Could not ${action} on ${systemId}: ${detail}`, { cause });
    }
  }

  async function grantorsOf(role: string, member: string): Promise<Array<string | null>> {
    const { rows } = await pool.query<{ grantor: string | null }>(MEMBERSHIP_SQL, [role, member]);
    return rows.map((row) => row.grantor);
  }

  return {
    ensureGranted: (role, member) =>
      attempt(`grant role ${role} to ${member}`, async () => {
        const grant = `GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`;
        if ((await grantorsOf(role, member)).length > 0) return { changed: false };
        try {
          await pool.query(grant);
        } catch (error) {
          if (!isConcurrentUpdate(error)) throw error;
          if ((await grantorsOf(role, member)).length > 0) return { changed: false };
          await pool.query(grant);
        }
        return { changed: true };
      }),

    ensureRevoked: (role, member) =>
      attempt(`revoke role ${role} from ${member}`, async () => {
        const revoke = `REVOKE ${quoteIdent(role)} FROM ${quoteIdent(member)}`;
        const grantors = await grantorsOf(role, member);
        if (grantors.length === 0) return { changed: false };
        // Since PostgreSQL 16 every grantor's grant is its own row and a bare REVOKE removes only the
        // current user's, so each one is revoked by name or the member would keep the role.
        for (const grantor of grantors) {
          await pool.query(
            grantor === null ? revoke : `${revoke} GRANTED BY ${quoteIdent(grantor)}`,
          );
        }
        return { changed: true };
      }),

    listMembers: (role) =>
      attempt(`list members of role ${role}`, async () => {
        // The parameter is compared as type name, which truncates to 63 bytes: validate it first.
        quoteIdent(role);
        const { rows } = await pool.query<{ member: string | null }>(MEMBERS_SQL, [role]);
        if (rows.length === 0)
          throw new ConnectorError('unknown-object', `role "${role}" does not exist`);
        const members = rows.flatMap((row) => (row.member === null ? [] : [row.member]));
        return [...new Set(members)].sort();
      }),

    setPasswordVerifier: (login, verifier, { enableLogin }) =>
      attempt(`set the password of ${login}`, async () => {
        // A utility statement takes no parameters, so the verifier is checked to be exactly what
        // scramVerifier writes (no quote can be in it) before it becomes a literal.
        if (!SCRAM_VERIFIER.test(verifier))
          throw new ConnectorError('invalid-input', 'that is not a SCRAM verifier');
        await pool.query(
          `ALTER ROLE ${quoteIdent(login)} WITH ${enableLogin ? 'LOGIN ' : ''}PASSWORD '${verifier}'`,
        );
      }),

    disableLogin: (login) =>
      attempt(`disable login ${login}`, async () => {
        await pool.query(`ALTER ROLE ${quoteIdent(login)} WITH NOLOGIN PASSWORD NULL`);
      }),

    loginAllowed: (login) =>
      attempt(`read whether ${login} may log in`, async () => {
        quoteIdent(login);
        const { rows } = await pool.query<{ rolcanlogin: boolean }>(CAN_LOGIN_SQL, [login]);
        return rows[0]?.rolcanlogin;
      }),

    setLoginAllowed: (login, allowed) =>
      attempt(`${allowed ? 'enable' : 'disable'} login ${login}`, async () => {
        await pool.query(`ALTER ROLE ${quoteIdent(login)} WITH ${allowed ? 'LOGIN' : 'NOLOGIN'}`);
      }),

    terminateSessions: (login) =>
      attempt(`end the sessions of ${login}`, async () => {
        quoteIdent(login);
        const { rows } = await pool.query<{ ended: number }>(TERMINATE_SQL, [login]);
        return rows[0]?.ended ?? 0;
      }),

    membershipsOf: (login) =>
      attempt(`list the roles of ${login}`, async () => {
        quoteIdent(login);
        const { rows } = await pool.query<{ role: string }>(MEMBERSHIPS_SQL, [login]);
        return rows.map((row) => row.role);
      }),

    checkLogin: (login, password) =>
      attempt(
        `log in as ${login}`,
        async () => {
          quoteIdent(login);
          // pg refuses an empty password itself with an error that carries no code and would read as transient.
          if (password.length === 0)
            throw new ConnectorError('invalid-input', 'the password is empty');
          const client = new Client({
            ...parseIntoClientConfig(connectionString),
            user: login,
            password,
            connectionTimeoutMillis: 5_000,
            statement_timeout: 5_000,
            application_name: 'keyward-check',
          });
          client.on('error', () => {});
          try {
            await client.connect();
            await client.query('SELECT 1');
          } finally {
            await client.end().catch(() => {});
          }
        },
        [password],
      ),

    close: () => (closing ??= pool.end()),
  };
}

/** The password in a URL-style connection string, raw and decoded, so messages can be scrubbed of it. */
function passwordsIn(connectionString: string): string[] {
  try {
    const { password } = new URL(connectionString);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}
