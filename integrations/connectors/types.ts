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

export type ConnectorErrorKind = 'permission-denied' | 'unknown-object' | 'invalid-input' | 'transient';

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
