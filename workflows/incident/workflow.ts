import {
  allHandlersFinished,
  condition,
  executeChild,
  log,
  ParentClosePolicy,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  checkClose,
  checkRestoreApproval,
  IncidentStatus,
  INCIDENT_ACTOR,
  initialState,
  pendingOf,
  restoreApproved,
} from '../../domain/incident';
import type { CredentialRotation, IncidentState, SystemContainment } from '../../domain/incident';
import type { PeopleNotice } from '../../activities/notify';
import type { AuditEventInput } from '../../domain/audit';
import { failureMessage } from '../jit/revocation';
import { rotationWorkflow } from '../rotation/workflow';
import { approveRestoreUpdate, closeIncidentUpdate, incidentStatusQuery } from './definitions';
import type { IncidentWorkflowInput } from './definitions';
import { notifier, records, systems } from './proxies';
import { rejectIf } from './refusal';

const iso = (ms: number) => new Date(ms).toISOString();
const WEEK_MS = 7 * 86_400_000;

type Step = Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string };

/**
 * One incident: quarantine the identity in keyward, contain it on every system and rotate its
 * credentials, all at once; then hold it quarantined until two people approve a restore, or
 * someone closes the incident without one.
 */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentState> {
  const { workflowId } = workflowInfo();
  const { plan } = input;
  // Every time to revoke is measured from the report, not from the start of this workflow.
  const reportedMs = Date.parse(input.reportedAt);
  const state = initialState(input);
  let closing: { actor: string; reason?: string } | undefined;
  let settled = false;

  const snapshot = () => JSON.parse(JSON.stringify(state)) as IncidentState;
  const record = ({ step, ...event }: Step) =>
    records.recordIncident({
      state: snapshot(),
      event: { ...event, key: `${workflowId}/${step}`, subject: state.identity, workflowId },
    });
  // Notices go beside containment, never in its way; the workflow waits for them only at its end,
  // so that the last one is not abandoned when it completes.
  const notices: Promise<void>[] = [];
  const tell = (step: string, subject: string, text: string, extra: Partial<PeopleNotice> = {}) =>
    void notices.push(
      notifier
        .tellPeople({
          to: plan.tell,
          channel: plan.channel,
          key: `${workflowId}/notice/${step}`,
          subject,
          text,
          facts: facts(),
          ...extra,
        })
        .catch(() => log.warn('An incident notice could not be sent', { incidentId: state.incidentId, step })),
    );
  const facts = (): [string, string][] => [
    ['Incident', state.incidentId],
    ['Identity', state.identity],
    ['Severity', state.severity],
    ['Status', state.status],
    ['Pending', pending().join(', ') || 'nothing'],
  ];
  const pending = () => pendingOf(state);
  const refresh = () => {
    if (state.status !== IncidentStatus.CONTAINING && state.status !== IncidentStatus.PARTIALLY_CONTAINED) return;
    // Once keyward itself has quarantined the identity, the incident is at least partly contained.
    if (state.quarantinedAt) state.status = IncidentStatus.PARTIALLY_CONTAINED;
  };

  setHandler(incidentStatusQuery, () => state);
  // Validators refuse at the door; each handler checks again, since two approvals that arrive
  // together both pass their validators before either handler runs.
  setHandler(
    approveRestoreUpdate,
    async (approval) => {
      rejectIf(checkRestoreApproval(state, plan.rules, approval));
      state.approvals.push({ approver: approval.actor, at: iso(Date.now()), reason: approval.reason });
      await record({
        step: `restore-approved/${approval.actor}`,
        actor: approval.actor,
        action: 'incident.restore_approved',
        details: { incidentId: state.incidentId, ...(approval.reason && { reason: approval.reason }) },
      });
      // The approval that completes the quorum answers once access is back.
      if (restoreApproved(state, plan.rules)) await condition(() => settled);
      return state;
    },
    { validator: (approval) => rejectIf(checkRestoreApproval(state, plan.rules, approval)) },
  );
  setHandler(
    closeIncidentUpdate,
    async (request) => {
      closing ??= request;
      await condition(() => settled);
      return state;
    },
    { validator: (request) => rejectIf(checkClose(state, plan.rules, request, closing?.actor)) },
  );

  // The opening is on record before anything is taken, so the audit log tells the story in order.
  await record({
    step: 'opened',
    actor: input.reportedBy,
    action: 'incident.opened',
    details: { incidentId: state.incidentId, severity: state.severity, reason: state.reason },
  });
  tell('opened', `Incident: ${state.identity} is being contained`, `${state.identity} was reported compromised.`);

  // Everything at once: a system that is down holds up nothing but its own containment.
  const containment = Promise.all([
    quarantine(),
    ...state.systems.map((system) => contain(system)),
    ...plan.credentials.map((id) => rotate(id, 'containment')),
  ]);
  let containmentDone = false;
  void containment.then(() => (containmentDone = true));
  const containedInTime = await condition(() => containmentDone, plan.alertAfterMs);
  if (!containedInTime) {
    state.alertedAt = iso(Date.now());
    await record({
      step: 'slow',
      actor: INCIDENT_ACTOR,
      action: 'incident.containment_slow',
      details: { pending: pending() },
    });
    tell('slow', `Incident: ${state.identity} is not contained everywhere yet`, 'keyward keeps trying.', {
      alert: true,
    });
  }
  await containment;

  if (state.systems.every((s) => s.status === 'CONTAINED')) {
    const lastMs = Math.max(Date.parse(state.quarantinedAt!), ...state.systems.map((s) => Date.parse(s.containedAt!)));
    Object.assign(state, {
      status: IncidentStatus.CONTAINED,
      containedAt: iso(lastMs),
      timeToRevokeMs: lastMs - reportedMs,
    });
    await record({
      step: 'contained',
      actor: INCIDENT_ACTOR,
      action: 'incident.contained',
      details: { timeToRevokeMs: state.timeToRevokeMs },
    });
    tell(
      'restore-needed',
      `Incident: ${state.identity} is contained`,
      `Restoring access needs two members of ${plan.rules.incidentGroup}: keyward incident restore ${state.incidentId}`,
      // Approvers' emails carry a signed link; a week later the CLI and the API still work.
      {
        restore: {
          incidentId: state.incidentId,
          approvers: plan.rules.approvers,
          expiresAt: iso(Date.now() + WEEK_MS),
        },
      },
    );
  }

  await condition(() => restoreApproved(state, plan.rules) || closing !== undefined);
  if (closing) {
    Object.assign(state, {
      status: IncidentStatus.CLOSED,
      closedAt: iso(Date.now()),
      closedBy: closing.actor,
      closeReason: closing.reason,
    });
    await record({
      step: 'closed',
      actor: closing.actor,
      action: 'incident.closed',
      details: { reason: closing.reason },
    });
    tell('closed', `Incident about ${state.identity} closed`, 'Closed without restore; access stays removed.');
  } else {
    state.status = IncidentStatus.RESTORING;
    await Promise.all(state.systems.map((system) => restore(system)));
    // Fresh secrets once the logins are back, so the test logins of the rotations succeed.
    await Promise.all(plan.credentials.map((id) => rotate(id, 'restore')));
    Object.assign(state, { status: IncidentStatus.RESTORED, restoredAt: iso(Date.now()) });
    await record({
      step: 'restored',
      actor: INCIDENT_ACTOR,
      action: 'incident.restored',
      approvalPath: state.approvals.map(({ approver, at }) => ({ approver, at })),
    });
    tell('restored', `Incident: ${state.identity} is restored`, 'Access was given back after two approvals.');
  }
  settled = true;
  await Promise.all(notices);
  await condition(allHandlersFinished);
  return state;

  async function quarantine(): Promise<void> {
    const { tokensRevoked } = await records.quarantine({ state: snapshot(), workflowId });
    Object.assign(state, { quarantinedAt: iso(Date.now()), tokensRevoked });
    refresh();
    state.requestsEnded = await records.endRequests({ incidentId: state.incidentId, identity: state.identity });
    await record({
      step: 'quarantined',
      actor: INCIDENT_ACTOR,
      action: 'incident.quarantined',
      details: { tokensRevoked, requestsEnded: state.requestsEnded },
    });
  }

  async function contain(system: SystemContainment): Promise<void> {
    try {
      const done = await systems.containSystem({
        incidentId: state.incidentId,
        systemId: system.systemId,
        logins: system.logins,
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
      tell(`failed/${system.systemId}`, `Incident: ${system.systemId} could not be contained`, system.lastError!, {
        alert: true,
      });
    }
    refresh();
    await record({
      step: `system/${system.systemId}`,
      actor: INCIDENT_ACTOR,
      action: system.status === 'CONTAINED' ? 'incident.system_contained' : 'incident.system_failed',
      details: { system: system.systemId, removed: system.removed, timeToRevokeMs: system.timeToRevokeMs },
    });
  }

  /**
   * Rotates now, as a child on the rotation workflow's own id scheme. The credential's schedule
   * is not consulted: a paused schedule was paused for reasons that a compromise outranks.
   */
  async function rotate(credentialId: string, phase: CredentialRotation['phase']): Promise<void> {
    const rotationId = `rotation/${credentialId}/incident-${state.incidentId}-${phase}`;
    const entry: CredentialRotation = { credentialId, workflowId: rotationId, phase, status: 'ROTATING' };
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
      tell(`rotation-failed/${credentialId}/${phase}`, `Incident: ${credentialId} was not rotated`, entry.error!, {
        alert: true,
      });
    }
    await record({
      step: `rotation/${credentialId}/${phase}`,
      actor: INCIDENT_ACTOR,
      action: entry.status === 'ROTATED' ? 'incident.credential_rotated' : 'incident.credential_rotation_failed',
      details: { credential: credentialId, phase, workflowId: rotationId, error: entry.error },
    });
  }

  async function restore(system: SystemContainment): Promise<void> {
    if (system.status !== 'CONTAINED') return;
    const { restoredAt } = await systems.restoreSystem({
      incidentId: state.incidentId,
      systemId: system.systemId,
      disabledLogins: system.disabledLogins,
    });
    Object.assign(system, { status: 'RESTORED', restoredAt });
    await record({
      step: `restored/${system.systemId}`,
      actor: INCIDENT_ACTOR,
      action: 'incident.system_restored',
      details: { system: system.systemId, regranted: system.removed.filter((r) => r.source === 'standing') },
    });
  }
}
