import { executeChild, ParentClosePolicy } from '@temporalio/workflow';
import { INCIDENT_ACTOR } from '../../domain/incident';
import type { CredentialRotation, IncidentState, SystemContainment } from '../../domain/incident';
import type { PeopleNotice } from '../../activities/notify';
import type { AuditEventInput } from '../../domain/audit';
import { rotationWorkflow } from '../rotation/workflow';
import { failureMessage } from '../shared';
import { records, systems } from './proxies';

const iso = (ms: number) => new Date(ms).toISOString();

export type Step = Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string };

/** What the steps of an incident share with its workflow: its state, its audit log and its notices. */
export interface IncidentContext {
  workflowId: string;
  state: IncidentState;
  reportedMs: number;
  snapshot: () => IncidentState;
  record: (step: Step) => Promise<void>;
  tell: (step: string, subject: string, text: string, extra?: Partial<PeopleNotice>) => void;
  /** Moves a containing incident to partially contained once keyward has quarantined the identity. */
  refresh: () => void;
}

/** The steps of an incident, each on one system or credential, each recording what it did. */
export function incidentSteps(ctx: IncidentContext) {
  const { state, workflowId, reportedMs, record, tell } = ctx;

  async function quarantine(): Promise<void> {
    const { tokensRevoked } = await records.quarantine({ state: ctx.snapshot(), workflowId });
    Object.assign(state, { quarantinedAt: iso(Date.now()), tokensRevoked });
    ctx.refresh();
    state.requestsEnded = await records.endRequests({
      incidentId: state.incidentId,
      identity: state.identity,
    });
    await record({
      step: 'quarantined',
      actor: INCIDENT_ACTOR,
      action: 'incident.quarantined',
      details: { tokensRevoked, requestsEnded: state.requestsEnded },
    });
  }

  /** `attempt` tells apart the audit events of a system contained again after a retry. */
  async function contain(system: SystemContainment, attempt = 0): Promise<void> {
    try {
      const done = await systems.containSystem({
        incidentId: state.incidentId,
        systemId: system.systemId,
        logins: system.logins,
        ...(system.rotated && { rotated: system.rotated }),
        reportedAt: state.reportedAt,
      });
      Object.assign(system, done, {
        status: 'CONTAINED',
        timeToRevokeMs: Date.parse(done.containedAt) - reportedMs,
        lastError: undefined,
      });
    } catch (err) {
      // Only failures retrying cannot fix end up here (keyward lacks the privilege, say).
      Object.assign(system, { status: 'FAILED', lastError: failureMessage(err) });
      tell(
        `failed/${system.systemId}${suffix(attempt)}`,
        `Incident: ${system.systemId} could not be contained`,
        system.lastError!,
        {
          alert: true,
        },
      );
    }
    ctx.refresh();
    await record({
      step: `system/${system.systemId}${suffix(attempt)}`,
      actor: INCIDENT_ACTOR,
      action:
        system.status === 'CONTAINED' ? 'incident.system_contained' : 'incident.system_failed',
      details: {
        system: system.systemId,
        removed: system.removed,
        timeToRevokeMs: system.timeToRevokeMs,
        ...(system.status === 'FAILED' && { error: system.lastError }),
      },
    });
  }

  /**
   * Rotates now, as a child on the rotation workflow's own id scheme. The credential's schedule
   * is not consulted: a paused schedule was paused for reasons that a compromise outranks.
   */
  async function rotate(credentialId: string, phase: CredentialRotation['phase']): Promise<void> {
    const rotationId = `rotation/${credentialId}/incident-${state.incidentId}-${phase}`;
    const entry: CredentialRotation = {
      credentialId,
      workflowId: rotationId,
      phase,
      status: 'ROTATING',
    };
    state.credentials.push(entry);
    try {
      await executeChild(rotationWorkflow, {
        workflowId: rotationId,
        args: [{ credentialId, incident: phase }],
        // A rotation half done finishes (or rolls back) even if the incident is terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      entry.status = 'ROTATED';
    } catch (err) {
      Object.assign(entry, { status: 'FAILED', error: failureMessage(err) });
      tell(
        `rotation-failed/${credentialId}/${phase}`,
        `Incident: ${credentialId} was not rotated`,
        entry.error!,
        {
          alert: true,
        },
      );
    }
    await record({
      step: `rotation/${credentialId}/${phase}`,
      actor: INCIDENT_ACTOR,
      action:
        entry.status === 'ROTATED'
          ? 'incident.credential_rotated'
          : 'incident.credential_rotation_failed',
      details: { credential: credentialId, phase, workflowId: rotationId, error: entry.error },
    });
  }

  /**
   * Gives one system back. A failure retrying cannot fix (a role dropped meanwhile) marks only
   * this system FAILED: the others are restored, and people retry it or close the incident.
   */
  async function restore(system: SystemContainment, attempt = 0): Promise<void> {
    if (system.status !== 'CONTAINED' && system.status !== 'FAILED') return;
    let restored = false;
    try {
      const { restoredAt } = await systems.restoreSystem({
        incidentId: state.incidentId,
        systemId: system.systemId,
        disabledLogins: system.disabledLogins,
      });
      Object.assign(system, { status: 'RESTORED', restoredAt, lastError: undefined });
      restored = true;
    } catch (err) {
      Object.assign(system, { status: 'FAILED', lastError: failureMessage(err) });
      tell(
        `restore-failed/${system.systemId}${suffix(attempt)}`,
        `Incident: ${system.systemId} could not be restored`,
        system.lastError!,
        {
          alert: true,
        },
      );
    }
    await record({
      step: `restored/${system.systemId}${suffix(attempt)}`,
      actor: INCIDENT_ACTOR,
      action: restored ? 'incident.system_restored' : 'incident.system_restore_failed',
      details: restored
        ? {
            system: system.systemId,
            regranted: system.removed.filter((r) => r.source === 'standing'),
          }
        : { system: system.systemId, error: system.lastError },
    });
  }

  return { quarantine, contain, rotate, restore };
}

// The first attempt keeps the step names older incidents recorded.
const suffix = (attempt: number) => (attempt === 0 ? '' : `/retry-${attempt}`);
