import {
  allHandlersFinished,
  condition,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { IncidentStatus, INCIDENT_ACTOR, initialState } from '../../domain/incident';
import type { IncidentState, RestoreInput } from '../../domain/incident';
import { pendingOf } from '../../domain/incident-report';
import {
  checkClose,
  checkRestoreApproval,
  checkRetry,
  restoreApproved,
} from '../../domain/incident-rules';
import type { PeopleNotice } from '../../activities/notify';
import { FailureType } from '../../domain/failures';
import { rejectIf } from '../shared';
import {
  approveRestoreUpdate,
  closeIncidentUpdate,
  incidentStatusQuery,
  retryIncidentUpdate,
} from './definitions';
import type { IncidentWorkflowInput } from './definitions';
import { notifier, records } from './proxies';
import { incidentSteps } from './steps';
import type { Step } from './steps';

const iso = (ms: number) => new Date(ms).toISOString();
const WEEK_MS = 7 * 86_400_000;
/** Runs recorded before this marker closed and restored without waiting for the ending's record. */
const ENDING_RECORDED_FIRST = 'incident-ending-recorded-first';

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
  let closing: RestoreInput | undefined;
  let retryAsked = false;
  // Until the database reads the incident as ending, a report about the identity joins it; so
  // nothing is given back or closed before the approval or the close that ends it is on record.
  let restoreRecorded = false;
  let closeRecorded = false;
  let openedRecorded = false;

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
  const steps = incidentSteps({ workflowId, state, reportedMs, snapshot, record, tell, refresh });
  const failed = () => state.systems.filter((s) => s.status === 'FAILED');

  setHandler(incidentStatusQuery, () => state);
  // Every update answers once its decision is recorded: what follows (containment, restore) may
  // wait for a system that is down, and callers read the status or the report for it. Validators
  // refuse at the door; each handler checks again, since two updates that arrive together both
  // pass their validators before either handler runs.
  setHandler(
    approveRestoreUpdate,
    async (approval) => {
      rejectIf(checkRestoreApproval(state, plan.rules, approval));
      state.approvals.push({
        approver: approval.actor,
        at: iso(Date.now()),
        reason: approval.reason,
      });
      const completes = restoreApproved(state, plan.rules);
      if (completes) state.status = IncidentStatus.RESTORING;
      await record({
        step: `restore-approved/${approval.actor}`,
        actor: approval.actor,
        action: 'incident.restore_approved',
        details: {
          incidentId: state.incidentId,
          ...(approval.reason && { reason: approval.reason }),
        },
      });
      restoreRecorded ||= completes;
      return state;
    },
    { validator: (approval) => rejectIf(checkRestoreApproval(state, plan.rules, approval)) },
  );
  setHandler(
    closeIncidentUpdate,
    async (request) => {
      rejectIf(checkClose(state, plan.rules, request, closing?.actor));
      closing = request;
      state.status = IncidentStatus.CLOSING;
      // Answered once on record: from then on a report about the identity opens a new incident.
      if (patched(ENDING_RECORDED_FIRST)) {
        // A close that arrives with the report is told after the opening, in the audit log too.
        await condition(() => openedRecorded);
        await record({
          step: 'close-requested',
          actor: request.actor,
          action: 'incident.close_requested',
          details: { reason: request.reason },
        });
      }
      closeRecorded = true;
      return state;
    },
    { validator: (request) => rejectIf(checkClose(state, plan.rules, request, closing?.actor)) },
  );
  const checkRetryNow = (request: RestoreInput) =>
    checkRetry(state, plan.rules, request, closing?.actor) ??
    (retryAsked
      ? { type: FailureType.AlreadyDecided, message: 'a retry is already under way' }
      : undefined);
  setHandler(
    retryIncidentUpdate,
    async (request) => {
      rejectIf(checkRetryNow(request));
      retryAsked = true;
      state.retries.push({ actor: request.actor, at: iso(Date.now()) });
      await record({
        step: `retry/${state.retries.length}`,
        actor: request.actor,
        action: 'incident.retry_requested',
        details: {
          systems: failed().map((s) => s.systemId),
          ...(request.reason && { reason: request.reason }),
        },
      });
      return state;
    },
    { validator: (request) => rejectIf(checkRetryNow(request)) },
  );
  const endingOnRecord = async () => {
    if (patched(ENDING_RECORDED_FIRST))
      await condition(() => (closing ? closeRecorded : restoreRecorded));
  };
  /** Waits for a retry or a close; true when a retry came, to run on the systems that failed. */
  const retryOrClose = async (): Promise<boolean> => {
    await condition(() => retryAsked || closing !== undefined);
    if (closing) return false;
    retryAsked = false;
    return true;
  };

  // The opening is on record before anything is taken, so the audit log tells the story in order.
  await record({
    step: 'opened',
    actor: input.reportedBy,
    action: 'incident.opened',
    details: { incidentId: state.incidentId, severity: state.severity, reason: state.reason },
  });
  openedRecorded = true;
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
  while (failed().length > 0 && (await retryOrClose())) {
    const attempt = state.retries.length;
    await Promise.all(failed().map((system) => steps.contain(system, attempt)));
  }

  if (!closing && state.systems.every((s) => s.status === 'CONTAINED')) {
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

  await condition(() => restoreApproved(state, plan.rules) || closing !== undefined);
  await endingOnRecord();
  if (!closing) {
    state.status = IncidentStatus.RESTORING;
    await Promise.all(state.systems.map((system) => steps.restore(system)));
    while (failed().length > 0 && (await retryOrClose())) {
      const attempt = state.retries.length;
      await Promise.all(failed().map((system) => steps.restore(system, attempt)));
    }
  }
  if (closing) {
    // A close of a restore that failed on a system came after the approval's record.
    await endingOnRecord();
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
