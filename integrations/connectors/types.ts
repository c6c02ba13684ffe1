/** What keyward needs from a target system to manage role membership. */
export interface RoleConnector {
  /** Makes `member` a member of `role`; does nothing when it already is. */
  ensureGranted(role: string, member: string): Promise<{ changed: boolean }>;
  /** Removes `member` from `role`; does nothing when it is not a member. */
  ensureRevoked(role: string, member: string): Promise<{ changed: boolean }>;
  /** The members of `role`, sorted. */
  listMembers(role: string): Promise<string[]>;
  close(): Promise<void>;
}

/** What keyward needs from a target system to rotate the passwords of its logins. */
export interface LoginConnector {
  /**
   * Sets the login's password from a verifier computed by keyward, so the password itself never
   * reaches the target; `enableLogin` also lets the role log in. Sessions already open go on.
   */
  setPasswordVerifier(
    login: string,
    verifier: string,
    options: { enableLogin: boolean },
  ): Promise<void>;
  /** Stops the login from logging in and forgets its password; sessions already open go on. */
  disableLogin(login: string): Promise<void>;
  /** The roles `login` is a direct member of, sorted. */
  membershipsOf(login: string): Promise<string[]>;
  /** Logs in as `login` with `password` and runs one query; throws a permission-denied error if refused. */
  checkLogin(login: string, password: string): Promise<void>;
}

/** What keyward needs from a target system to contain a compromised login and give it back. */
export interface ContainmentConnector {
  /** Whether the login may log in; undefined when no such login exists on the system. */
  loginAllowed(login: string): Promise<boolean | undefined>;
  /** Lets the login log in, or stops it, keeping its password either way. */
  setLoginAllowed(login: string, allowed: boolean): Promise<void>;
  /** Ends every open session of the login; the number ended. */
  terminateSessions(login: string): Promise<number>;
}

export type TargetConnector = RoleConnector & LoginConnector & ContainmentConnector;

export type ConnectorErrorKind =
  'permission-denied' | 'unknown-object' | 'invalid-input' | 'transient';

/**
 * A failure talking to a target system. `kind` tells the caller whether trying again can
 * help: only `transient` failures are worth a retry.
 */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';

  constructor(
    readonly kind: ConnectorErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}
