import { ApplicationFailure } from '@temporalio/activity';
import type { AuditEventInput } from '../domain/audit';
import { FailureType } from '../domain/failures';
import type { JitState } from '../domain/jit';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { appendAuditEvent } from '../store/audit';
import type { Db } from '../store/db';
import { findGrant, otherLiveGrant, recordGrant, recordRevocation } from '../store/grants';
import { isQuarantined } from '../store/incidents';
import { saveRequest } from '../store/requests';
import { targetFailure } from './failures';

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

export function createJitActivities(deps: JitActivityDeps) {
  const { db, connectors } = deps;

  return {
    /** Saves the request's state and appends its audit event; both are safe to repeat. */
    async recordRequest(input: { state: JitState; event: AuditEventInput }): Promise<void> {
      try {
        await saveRequest(db, input.state, input.event.workflowId ?? '');
        await appendAuditEvent(db, input.event);
      } catch (err) {
        // Requests started through keyward's API reserved their row; one started any other way
        // may collide with a live request for the same entitlement, and retrying cannot help.
        if ((err as { constraint?: string }).constraint === 'requests_one_live') {
          throw ApplicationFailure.nonRetryable(
            `${input.state.requester} already has a live request for ${input.state.plan.entitlementId}`,
            FailureType.PolicyViolation,
          );
        }
        // Data the database refuses (class 22) is refused again on every retry; say so once.
        if (String((err as { code?: string }).code).startsWith('22')) {
          throw ApplicationFailure.nonRetryable(
            `the database refused request ${input.state.requestId}'s data`,
            FailureType.InvalidInput,
          );
        }
        throw err;
      }
    },

    /** Ensures the login holds the role, and records the grant once; a retry keeps the first times. */
    async grantAccess(input: GrantInput): Promise<{ grantedAt: string; expiresAt: string }> {
      const doing = `grant role ${input.role} to ${input.login} on ${input.systemId}`;
      // The last gate before the target: an approval that raced an incident grants nothing.
      if (await isQuarantined(db, input.identity)) {
        throw ApplicationFailure.nonRetryable(
          `${input.identity} is quarantined by an incident`,
          FailureType.PolicyViolation,
        );
      }
      try {
        await connectors.get(input.systemId).ensureGranted(input.role, input.login);
      } catch (err) {
        throw targetFailure(err, doing);
      }
      const now = new Date();
      await recordGrant(db, {
        ...input,
        grantedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + input.durationMs).toISOString(),
      });
      const grant = await findGrant(db, input.requestId);
      if (!grant) throw new Error(`the grant of request ${input.requestId} was not recorded`);
      return { grantedAt: grant.grantedAt, expiresAt: grant.expiresAt };
    },

    /**
     * Ensures the login no longer holds the role, and records how late that was. Another live
     * grant of the same role to the same login keeps the membership: it is that grant's to end.
     */
    async revokeAccess(
      input: RevokeAccessInput,
    ): Promise<{ revokedAt: string; latenessMs: number }> {
      const doing = `revoke role ${input.role} from ${input.login} on ${input.systemId}`;
      const coveredBy = await otherLiveGrant(db, input);
      if (!coveredBy) {
        try {
          await connectors.get(input.systemId).ensureRevoked(input.role, input.login);
        } catch (err) {
          throw targetFailure(err, doing);
        }
      }
      const now = new Date();
      await recordRevocation(db, input.requestId, {
        revokedAt: now.toISOString(),
        revokedBy: input.revokedBy,
        cause: input.cause,
        latenessMs: Math.max(0, now.getTime() - Date.parse(input.dueAt)),
      });
      const grant = await findGrant(db, input.requestId);
      if (!grant?.revokedAt)
        throw ApplicationFailure.nonRetryable(
          `request ${input.requestId} has no grant to revoke`,
          FailureType.InvalidInput,
        );
      return { revokedAt: grant.revokedAt, latenessMs: grant.revokeLatenessMs ?? 0 };
    },

    /** Takes back a grant that failed half way, unless another live grant holds the same membership. */
    async withdrawAccess(input: TargetInput): Promise<void> {
      if (await otherLiveGrant(db, input)) return;
      try {
        await connectors.get(input.systemId).ensureRevoked(input.role, input.login);
      } catch (err) {
        throw targetFailure(
          err,
          `withdraw role ${input.role} from ${input.login} on ${input.systemId}`,
        );
      }
    },
  };
}

export type JitActivities = ReturnType<typeof createJitActivities>;
