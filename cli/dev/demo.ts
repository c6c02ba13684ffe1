import { Client } from 'pg';
import type { Policy } from '../../domain/policy';
import { quoteIdent } from '../../integrations/connectors/postgres';
import type { RunningPostgres } from '../../store/embedded';

/** A target system of the policy that the dev stack hosts itself, in the embedded PostgreSQL. */
export interface DemoTarget {
  systemId: string;
  envVar: string;
  database: string;
  url: string;
}

/**
 * Every PostgreSQL system whose env: reference is unset gets a database of its own in the
 * embedded cluster, so the example policy works with no set-up at all.
 */
export async function provisionDemoTargets(
  policy: Policy,
  postgres: RunningPostgres,
  env: NodeJS.ProcessEnv,
): Promise<DemoTarget[]> {
  const targets: DemoTarget[] = [];
  for (const system of policy.systems) {
    const envVar = /^env:(.+)$/.exec(system.connection)?.[1];
    if (!envVar || env[envVar]) continue;
    const database = `target_${system.id.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase()}`;
    await postgres.ensureDatabase(database);
    targets.push({ systemId: system.id, envVar, database, url: postgres.urlFor(database) });
  }
  return targets;
}

/**
 * Creates the roles the policy's entitlements grant and a login per identity, as a real
 * database would already have them. Roles are cluster-wide in PostgreSQL, so this runs once.
 * Alternating logins start without LOGIN (a rotation enables them) and share a role of their
 * identity's, as a service's two logins would, so the rotation's equal memberships can be seen.
 */
export async function seedDemoRoles(
  policy: Policy,
  url: string,
  systemIds: string[],
): Promise<void> {
  const wanted = new Map<string, 'LOGIN' | 'NOLOGIN'>();
  for (const entitlement of policy.entitlements) {
    if (systemIds.includes(entitlement.system)) wanted.set(entitlement.role, 'NOLOGIN');
  }
  for (const identity of policy.identities) {
    for (const systemId of systemIds) wanted.set(identity.logins[systemId] ?? identity.id, 'LOGIN');
  }
  const memberships: [role: string, login: string][] = [];
  for (const credential of policy.credentials) {
    if (!systemIds.includes(credential.system) || credential.strategy !== 'alternating-logins')
      continue;
    const shared = `${credential.identity.replace(/[^A-Za-z0-9]/g, '_')}_writer`;
    wanted.set(shared, 'NOLOGIN');
    for (const login of credential.logins ?? []) {
      if (!wanted.has(login)) wanted.set(login, 'NOLOGIN');
      memberships.push([shared, login]);
    }
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)',
      [[...wanted.keys()]],
    );
    const existing = new Set(rows.map((r) => r.rolname));
    for (const [role, kind] of wanted) {
      if (!existing.has(role)) await client.query(`CREATE ROLE ${quoteIdent(role)} ${kind}`);
    }
    // Only on creation: a later start must not undo what rotations and grants changed since.
    for (const [role, login] of memberships) {
      if (!existing.has(login))
        await client.query(`GRANT ${quoteIdent(role)} TO ${quoteIdent(login)}`);
    }
  } finally {
    await client.end();
  }
}
