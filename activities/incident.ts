import type { WorkflowClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import type { AuditEventInput } from '../domain/audit';
import { FailureType } from '../domain/failures';
import { INCIDENT_ACTOR } from '../domain/incident';
import type { IncidentState, Removal } from '../domain/incident';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import type { TargetConnector } from '../integrations/connectors/types';
import { appendAuditEvent } from '../store/audit';
import type { Db } from '../store/db';
import {
  disabledLoginsOf,
  jitGrantsOf,
  laterQuarantine,
  markRestored,
  recordDisabledLogin,
  recordRemovals,
  removalsOf,
  reserveIncident,
  saveIncident,
} from '../store/incidents';
import { revokeTokensOf } from '../store/tokens';
import { onTarget } from './failures';
import { endRequest } from './jit-requests';

export interface IncidentActivityDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  /** Ends the identity's JIT requests through their own workflows. */
  workflows: Pick<WorkflowClient, 'getHandle'>;
}

export interface ContainSystemInput {
  incidentId: string;
  systemId: string;
  logins: string[];
  /** Logins a credential rotates; the others lose their password, which the attacker may know. */
  rotated?: string[];
  reportedAt: string;
}

export interface Contained {
  containedAt: string;
  removed: Removal[];
  disabledLogins: string[];
  sessionsTerminated: number;
}

export function createIncidentActivities(deps: IncidentActivityDeps) {
  const { db } = deps;

  const onSystem = <T>(systemId: string, doing: string, work: (c: TargetConnector) => Promise<T>) =>
    onTarget(deps.connectors, systemId, doing, work);

  return {
    /** Saves the incident's state and appends its audit event; both are safe to repeat. */
    async recordIncident(input: { state: IncidentState; event: AuditEventInput }): Promise<void> {
      await saveIncident(db, input.state);
      await appendAuditEvent(db, input.event);
    },

    /**
     * Quarantines the identity in keyward: its row (made here if the incident was not opened
     * through the API) refuses new requests, and its API tokens stop working.
     */
    async quarantine(input: {
      state: IncidentState;
      workflowId: string;
    }): Promise<{ tokensRevoked: number }> {
      const { state } = input;
      await reserveIncident(db, {
        id: state.incidentId,
        identity: state.identity,
        severity: state.severity,
        reason: state.reason,
        reportedBy: state.reportedBy,
        reportedAt: state.reportedAt,
        workflowId: input.workflowId,
      });
      return { tokensRevoked: await revokeTokensOf(db, state.identity) };
    },

    /**
     * Ends the identity's live JIT requests through their own workflows: a pending one is
     * cancelled before anyone can approve it, a granted one revokes and ends, so neither
     * grants again later. Only the update's acceptance is awaited; a JIT workflow revoking on
     * a system that is down must not hold up the incident.
     */
    async endRequests(input: { incidentId: string; identity: string }): Promise<string[]> {
      const live = await db
        .selectFrom('requests')
        .select(['id', 'workflow_id'])
        .where('requester', '=', input.identity)
        .where('status', 'in', ['PENDING', 'GRANTED'])
        .execute();
      const ended: string[] = [];
      const revoke = { actor: INCIDENT_ACTOR, reason: `incident ${input.incidentId}` };
      for (const request of live) {
        const workflow = { id: request.id, workflowId: request.workflow_id };
        if (await endRequest(deps.workflows, workflow, revoke)) ended.push(request.id);
      }
      return ended;
    },

    /**
     * Contains one login set on one system: what it holds is recorded first, then its login is
     * disabled so it opens no new session, then its sessions are ended, then its memberships go.
     * Every step is idempotent; an attempt that failed part way is simply run again.
     */
    async containSystem(input: ContainSystemInput): Promise<Contained> {
      const { incidentId, systemId } = input;
      let sessionsTerminated = 0;
      for (const login of input.logins) {
        const allowed = await onSystem(systemId, `read login ${login}`, (c) =>
          c.loginAllowed(login),
        );
        if (allowed === undefined) continue;
        const roles = await onSystem(systemId, `list the roles of ${login}`, (c) =>
          c.membershipsOf(login),
        );
        // JIT grants are matched by role; one its own workflow revoked already is listed all the same.
        const jit = new Map(
          (await jitGrantsOf(db, { systemId, login, since: input.reportedAt })).map((g) => [
            g.role,
            g.requestId,
          ]),
        );
        const removals: Removal[] = [
          ...roles
            .filter((role) => !jit.has(role))
            .map((role) => ({ login, role, source: 'standing' as const })),
          ...[...jit].map(([role, requestId]) => ({
            login,
            role,
            source: 'jit' as const,
            requestId,
          })),
        ];
        await recordRemovals(db, incidentId, systemId, removals);
        if (allowed) {
          // Which logins could log in is only seen on the first attempt; later ones find them disabled.
          await recordDisabledLogin(db, incidentId, systemId, login);
          // A rotated login gets a fresh secret from its rotation; any other keeps none, so a
          // restore cannot hand the compromised password back.
          const rotated = input.rotated?.includes(login) ?? false;
          await onSystem(systemId, `disable login ${login}`, (c) =>
            rotated ? c.setLoginAllowed(login, false) : c.disableLogin(login),
          );
        }
        sessionsTerminated += await onSystem(systemId, `end sessions of ${login}`, (c) =>
          c.terminateSessions(login),
        );
        for (const role of roles) {
          await onSystem(systemId, `revoke ${role} from ${login}`, (c) =>
            c.ensureRevoked(role, login),
          );
        }
      }
      return {
        containedAt: new Date().toISOString(),
        removed: await removalsOf(db, incidentId, systemId),
        disabledLogins: await disabledLoginsOf(db, incidentId, systemId),
        sessionsTerminated,
      };
    },

    /**
     * Puts back the standing memberships an incident removed and lets the disabled logins in
     * again, unless a report since has opened another incident about the identity: giving access
     * back would undo that one's containment, so it is its restore that decides.
     */
    async restoreSystem(input: { incidentId: string; systemId: string; disabledLogins: string[] }) {
      const { incidentId, systemId } = input;
      const later = await laterQuarantine(db, incidentId);
      if (later) {
        throw ApplicationFailure.nonRetryable(
          `incident ${later} was opened about the same identity since; ` +
            'a restore would undo its containment',
          FailureType.PolicyViolation,
        );
      }
      const removed = await removalsOf(db, incidentId, systemId);
      for (const { login, role } of removed.filter((r) => r.source === 'standing')) {
        await onSystem(systemId, `grant ${role} to ${login}`, (c) => c.ensureGranted(role, login));
      }
      // The state's list and the database's: an incident contained before the table existed has only the former.
      const disabled = new Set([
        ...input.disabledLogins,
        ...(await disabledLoginsOf(db, incidentId, systemId)),
      ]);
      for (const login of [...disabled].sort()) {
        await onSystem(systemId, `enable login ${login}`, (c) => c.setLoginAllowed(login, true));
      }
      await markRestored(db, incidentId, systemId);
      return { restoredAt: new Date().toISOString() };
    },
  };
}

export type IncidentActivities = ReturnType<typeof createIncidentActivities>;
