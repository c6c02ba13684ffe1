import { ApplicationFailure } from '@temporalio/activity';
import type { AuditEventInput } from '../domain/audit';
import { FailureType } from '../domain/failures';
import type { JitState } from '../domain/jit';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { ConnectorError } from '../integrations/connectors/types';
import { appendAuditEvent } from '../store/audit';
import type { Db } from '../store/db';
import { findGrant, recordGrant, recordRevocation } from '../store/grants';
import { saveRequest } from '../store/requests';

export interface JitActivityDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
}

export interface TargetInput {
  requestId: string;
  systemId: string;
  role: string;
  login: string;
}

export interface GrantInput extends TargetInput {
  identity: string;
  entitlementId: string;
  durationMs: number;
  approvals: { approver: string; at: string }[];
}

export interface RevokeAccessInput extends TargetInput {
  /** When access was due to end; lateness is measured from here. */
  dueAt: string;
  revokedBy: string;
  cause: string;
}

/** Turns a connector's failure into one Temporal knows whether to retry. */
function asFailure(err: unknown, doing: string): unknown {
  if (!(err instanceof ConnectorError)) return err;
  const message = `Could not ${doing}: ${err.message}`;
  switch (err.kind) {
    case 'permission-denied':
      return ApplicationFailure.nonRetryable(message, FailureType.ConnectorPermissionDenied);
    case 'unknown-object':
      return ApplicationFailure.nonRetryable(message, FailureType.ConnectorUnknownObject);
    case 'invalid-input':
      return ApplicationFailure.nonRetryable(message, FailureType.InvalidInput);
    case 'transient':
      return ApplicationFailure.retryable(message, 'ConnectorUnavailable');
  }
}

export function createJitActivities(deps: JitActivityDeps) {
  const { db, connectors } = deps;

  return {
    /** Saves the request's state and appends its audit event; both are safe to repeat. */
    async recordRequest(input: { state: JitState; event: AuditEventInput }): Promise<void> {
      await saveRequest(db, input.state, input.event.workflowId ?? '');
      await appendAuditEvent(db, input.event);
    },

    /** Ensures the login holds the role, and records the grant once; a retry keeps the first times. */
    async grantAccess(input: GrantInput): Promise<{ grantedAt: string; expiresAt: string }> {
      const doing = `grant role ${input.role} to ${input.login} on ${input.systemId}`;
      try {
        await connectors.get(input.systemId).ensureGranted(input.role, input.login);
      } catch (err) {
        throw asFailure(err, doing);
      }
      const now = new Date();
      await recordGrant(db, {
        ...input,
        grantedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + input.durationMs).toISOString(),
      });
      const grant = await findGrant(db, input.requestId);
      return { grantedAt: grant!.grantedAt, expiresAt: grant!.expiresAt };
    },

    /** Ensures the login no longer holds the role, and records how late that was. */
    async revokeAccess(input: RevokeAccessInput): Promise<{ revokedAt: string; latenessMs: number }> {
      const doing = `revoke role ${input.role} from ${input.login} on ${input.systemId}`;
      try {
        await connectors.get(input.systemId).ensureRevoked(input.role, input.login);
      } catch (err) {
        throw asFailure(err, doing);
      }
      const now = new Date();
      await recordRevocation(db, input.requestId, {
        revokedAt: now.toISOString(),
        revokedBy: input.revokedBy,
        cause: input.cause,
        latenessMs: Math.max(0, now.getTime() - Date.parse(input.dueAt)),
      });
      const grant = await findGrant(db, input.requestId);
      return { revokedAt: grant!.revokedAt!, latenessMs: grant!.revokeLatenessMs! };
    },
  };
}

export type JitActivities = ReturnType<typeof createJitActivities>;
