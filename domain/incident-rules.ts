import type { Refusal } from './access';
import { FailureType } from './failures';
import { IncidentStatus, isOpenIncident } from './incident';
import type { IncidentRules, IncidentState, RestoreInput } from './incident';
import { MAX_TEXT, unsafeTextProblem } from './text';

// Who may decide what about an incident, and when: the rules behind its updates' validators.

const refusal = (type: FailureType, message: string): Refusal => ({ type, message });

function checkText(input: { actor?: unknown; reason?: unknown }): Refusal | undefined {
  if (typeof input.actor !== 'string' || input.actor.length === 0) {
    return refusal(FailureType.InvalidInput, 'the decision names no actor');
  }
  if (input.reason === undefined) return undefined;
  if (typeof input.reason !== 'string' || input.reason.length > MAX_TEXT) {
    return refusal(
      FailureType.InvalidInput,
      `a reason must be text of at most ${MAX_TEXT} characters`,
    );
  }
  const problem = unsafeTextProblem(input.reason);
  return problem ? refusal(FailureType.InvalidInput, `the reason ${problem}`) : undefined;
}

const failedSystems = (state: IncidentState) => state.systems.filter((s) => s.status === 'FAILED');
/** A restore that failed on a system may still be closed: the identity then stays quarantined. */
const restoreStuck = (state: IncidentState) =>
  state.status === IncidentStatus.RESTORING && failedSystems(state).length > 0;

/**
 * Two-person control over giving access back: distinct members of the incident group, never
 * the identity itself nor its owner, and only once containment has finished.
 */
export function checkRestoreApproval(
  state: IncidentState,
  rules: IncidentRules,
  input: RestoreInput,
) {
  const text = checkText(input);
  if (text) return text;
  const { actor } = input;
  if (actor === state.identity)
    return refusal(FailureType.NotAllowed, `${actor} cannot approve their own restore`);
  if (actor === state.owner) {
    return refusal(
      FailureType.NotAllowed,
      `${actor} owns ${state.identity} and cannot approve its restore`,
    );
  }
  if (!rules.approvers.includes(actor)) {
    return refusal(FailureType.NotAllowed, `${actor} is not a member of ${rules.incidentGroup}`);
  }
  if (!isOpenIncident(state)) {
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} is already ${state.status.toLowerCase()}`,
    );
  }
  if (state.status !== IncidentStatus.CONTAINED) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is not contained yet`);
  }
  if (state.approvals.some((a) => a.approver === actor)) {
    return refusal(FailureType.DuplicateDecision, `${actor} has already approved the restore`);
  }
  return undefined;
}

export function checkClose(
  state: IncidentState,
  rules: IncidentRules,
  input: RestoreInput,
  closingBy?: string,
) {
  const text = checkText(input);
  if (text) return text;
  if (closingBy)
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} is being closed by ${closingBy}`,
    );
  if (input.actor === state.identity)
    return refusal(FailureType.NotAllowed, `${input.actor} cannot close their own incident`);
  if (!rules.closers.includes(input.actor)) {
    return refusal(
      FailureType.NotAllowed,
      `${input.actor} may not close incidents: admins and ${rules.incidentGroup} may`,
    );
  }
  if (!isOpenIncident(state) && !restoreStuck(state)) {
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} is already ${state.status.toLowerCase()}`,
    );
  }
  return undefined;
}

/** Whoever may close may have the systems that failed tried again, once their cause is fixed. */
export function checkRetry(
  state: IncidentState,
  rules: IncidentRules,
  input: RestoreInput,
  closingBy?: string,
) {
  const text = checkText(input);
  if (text) return text;
  if (input.actor === state.identity) {
    return refusal(FailureType.NotAllowed, `${input.actor} cannot retry their own incident`);
  }
  if (!rules.closers.includes(input.actor)) {
    return refusal(
      FailureType.NotAllowed,
      `${input.actor} may not retry incidents: admins and ${rules.incidentGroup} may`,
    );
  }
  if (closingBy) {
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} is being closed by ${closingBy}`,
    );
  }
  if (state.status === IncidentStatus.RESTORED || state.status === IncidentStatus.CLOSED) {
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} is already ${state.status.toLowerCase()}`,
    );
  }
  if (failedSystems(state).length === 0) {
    return refusal(
      FailureType.AlreadyDecided,
      `incident ${state.incidentId} has no failed system to retry`,
    );
  }
  return undefined;
}

export const restoreApproved = (state: IncidentState, rules: IncidentRules) =>
  new Set(state.approvals.map((a) => a.approver)).size >= rules.required;
