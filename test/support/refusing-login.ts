import { randomBytes } from 'node:crypto';
import { ident } from './jit-harness';
import { superuserQuery, testServers, uniqueName } from './servers';

/**
 * A login of the shared cluster that a target system can connect as instead of the superuser:
 * it holds the admin option on the roles it hands out, and nothing else. `refuse` takes away its
 * right to log in and ends its sessions, so the target refuses keyward for lack of privilege,
 * as a real one does when someone changes its grants, until `recover` gives the right back.
 */
export class RefusingLogin {
  readonly name = uniqueName('kw_limited');
  private readonly password = randomBytes(12).toString('hex');

  /** Where the target system connects: the cluster's own database, as this login. */
  get url(): string {
    const url = new URL(testServers().pgUrl);
    url.username = this.name;
    url.password = this.password;
    return url.toString();
  }

  async create(roles: string[]): Promise<void> {
    await superuserQuery(
      `CREATE ROLE ${ident(this.name)} LOGIN NOSUPERUSER PASSWORD '${this.password}'`,
    );
    for (const role of roles)
      await superuserQuery(`GRANT ${ident(role)} TO ${ident(this.name)} WITH ADMIN OPTION`);
  }

  async refuse(): Promise<void> {
    await superuserQuery(`ALTER ROLE ${ident(this.name)} NOLOGIN`);
    await superuserQuery(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1',
      [this.name],
    );
  }

  async recover(): Promise<void> {
    await superuserQuery(`ALTER ROLE ${ident(this.name)} LOGIN`);
  }

  async drop(): Promise<void> {
    await superuserQuery(`DROP ROLE IF EXISTS ${ident(this.name)}`);
  }
}
