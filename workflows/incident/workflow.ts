import {
  allHandlersFinished,
  condition,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { IncidentStatus, INCIDENT_ACTOR, initialState } from '../../domain/incident';
import type { IncidentState } from '../../domain/incident';
import { pendingOf } from '../../domain/incident-report';
import { restoreApproved } from '../../domain/incident-rules';
import type { PeopleNotice } from '../../activities/notify';
import { acceptDecisions } from './decisions';
import { incidentStatusQuery } from './definitions';
import type { IncidentWorkflowInput } from './definitions';
import { notifier, records } from './proxies';
import { incidentSteps } from './steps';
import type { IncidentContext, Step } from './steps';

const iso = (ms: number) => new Date(ms).toISOString();
const WEEK_MS = 7 * 86_400_000;

/**
 * One incident: quarantine the identity in keyward, contain it on every system and rotate its
 * credentials, all at once; then hold it quarantined until two people approve a restore, or
 * someone closes the incident without one. A system that fails for good waits for a retry.
 */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentState> {
  const { workflowId } = workflowInfo();
  const { plan } = input;
  // Every time to revoke is measured from the report, not from the start of this workflow.
  const reportedMs = Date.parse(input.reportedAt);
  const state = initialState(input);

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
        .catch(() =>
          log.warn('An incident notice could not be sent', { incidentId: state.incidentId, step }),
        ),
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
    if (
      state.status !== IncidentStatus.CONTAINING &&
      state.status !== IncidentStatus.PARTIALLY_CONTAINED
    )
      return;
    // Once keyward itself has quarantined the identity, the incident is at least partly contained.
    if (state.quarantinedAt) state.status = IncidentStatus.PARTIALLY_CONTAINED;
  };
  const ctx: IncidentContext = { workflowId, state, reportedMs, snapshot, record, tell, refresh };
  const steps = incidentSteps(ctx);
  const failed = () => state.systems.filter((s) => s.status === 'FAILED');

  setHandler(incidentStatusQuery, () => state);
  const decisions = acceptDecisions(ctx, plan);

  // The opening is on record before anything is taken, so the audit log tells the story in order.
  await record({
    step: 'opened',
    actor: input.reportedBy,
    action: 'incident.opened',
    details: { incidentId: state.incidentId, severity: state.severity, reason: state.reason },
  });
  decisions.opened();
  tell(
    'opened',
    `Incident: ${state.identity} is being contained`,
    `${state.identity} was reported compromised.`,
  );

  // Everything at once: a system that is down holds up nothing but its own containment.
  const containment = Promise.all([
    steps.quarantine(),
    ...state.systems.map((system) => steps.contain(system)),
    ...plan.credentials.map((id) => steps.rotate(id, 'containment')),
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
    tell(
      'slow',
      `Incident: ${state.identity} is not contained everywhere yet`,
      'keyward keeps trying.',
      {
        alert: true,
      },
    );
  }
  await containment;
  while (failed().length > 0 && (await decisions.retryOrClose())) {
    const attempt = state.retries.length;
    await Promise.all(failed().map((system) => steps.contain(system, attempt)));
  }

  if (!decisions.closing && state.systems.every((s) => s.status === 'CONTAINED')) {
    const lastMs = Math.max(
      Date.parse(state.quarantinedAt!),
      ...state.systems.map((s) => Date.parse(s.containedAt!)),
    );
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

  await condition(() => restoreApproved(state, plan.rules) || decisions.closing !== undefined);
  await decisions.endingOnRecord();
  if (!decisions.closing) {
    state.status = IncidentStatus.RESTORING;
    await Promise.all(state.systems.map((system) => steps.restore(system)));
    while (failed().length > 0 && (await decisions.retryOrClose())) {
      const attempt = state.retries.length;
      await Promise.all(failed().map((system) => steps.restore(system, attempt)));
    }
  }
  if (decisions.closing) {
    // A close of a restore that failed on a system came after the approval's record.
    await decisions.endingOnRecord();
    const { closing } = decisions;
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
    tell(
      'closed',
      `Incident about ${state.identity} closed`,
      'Closed without restore; access stays removed.',
    );
  } else {
    // Fresh secrets once the logins are back, so the test logins of the rotations succeed.
    await Promise.all(plan.credentials.map((id) => steps.rotate(id, 'restore')));
    Object.assign(state, { status: IncidentStatus.RESTORED, restoredAt: iso(Date.now()) });
    await record({
      step: 'restored',
      actor: INCIDENT_ACTOR,
      action: 'incident.restored',
      approvalPath: state.approvals.map(({ approver, at }) => ({ approver, at })),
    });
    tell(
      'restored',
      `Incident: ${state.identity} is restored`,
      'Access was given back after two approvals.',
    );
  }
  await Promise.all(notices);
  await condition(allHandlersFinished);
  return state;
}
