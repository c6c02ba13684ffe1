import type { Refusal } from './access';
import { FailureType } from './failures';
import { MAX_TEXT, unsafeTextProblem } from './text';

export const Severity = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof Severity)[number];

export const IncidentStatus = {
  /** Quarantine in keyward and the first revocations are under way. */
  CONTAINING: 'CONTAINING',
  /** keyward has quarantined the identity; at least one system or credential is still pending. */
  PARTIALLY_CONTAINED: 'PARTIALLY_CONTAINED',
  CONTAINED: 'CONTAINED',
  /** Two people approved; access is being given back. A system that failed waits for a retry or a close. */
  RESTORING: 'RESTORING',
  RESTORED: 'RESTORED',
  /** Someone closed the incident; it reads CLOSED once its containment has finished. */
  CLOSING: 'CLOSING',
  /** Closed without restore: everything removed stays removed, the identity stays quarantined. */
  CLOSED: 'CLOSED',
} as const;
export type IncidentStatus = (typeof IncidentStatus)[keyof typeof IncidentStatus];

/** The actor keyward writes when it acts for an incident, on JIT requests and in the audit log. */
export const INCIDENT_ACTOR = 'keyward:incident';

/** One role membership taken from a login, and whether keyward had granted it just in time. */
export interface Removal {
  login: string;
  role: string;
  /** Standing memberships are put back on restore; JIT ones stay gone. */
  source: 'standing' | 'jit';
  requestId?: string;
}

export interface SystemContainment {
  systemId: string;
  logins: string[];
  /**
   * The logins a credential of the identity rotates: they get a fresh secret. Any other login
   * (a person's own) loses its password at containment and comes back without one.
   */
  rotated?: string[];
  status: 'PENDING' | 'CONTAINED' | 'FAILED' | 'RESTORED';
  containedAt?: string;
  /** From the report to this system being contained. */
  timeToRevokeMs?: number;
  removed: Removal[];
  /** Logins that could log in before containment; only those log in again after a restore. */
  disabledLogins: string[];
  sessionsTerminated: number;
  lastError?: string;
  restoredAt?: string;
}

export interface CredentialRotation {
  credentialId: string;
  workflowId: string;
  phase: 'containment' | 'restore';
  status: 'ROTATING' | 'ROTATED' | 'FAILED';
  error?: string;
}

export interface Approval {
  approver: string;
  at: string;
  reason?: string;
}

export interface IncidentState {
  incidentId: string;
  identity: string;
  owner?: string;
  severity: Severity;
  reason: string;
  reportedBy: string;
  reportedAt: string;
  status: IncidentStatus;
  quarantinedAt?: string;
  tokensRevoked?: number;
  requestsEnded: string[];
  systems: SystemContainment[];
  credentials: CredentialRotation[];
  containedAt?: string;
  /** From the report to the last system being contained. */
  timeToRevokeMs?: number;
  /** Set once, when containment first took longer than the alert threshold. */
  alertedAt?: string;
  approvals: Approval[];
  /** Who had the failed systems tried again, and when. */
  retries: { actor: string; at: string }[];
  restoredAt?: string;
  closedAt?: string;
  closedBy?: string;
  closeReason?: string;
}

/** Who may approve a restore, fixed from the policy when the incident opened. */
export interface IncidentRules {
  incidentGroup: string;
  approvers: string[];
  /** Admins and incident group members may close an incident without restore. */
  closers: string[];
  required: number;
}

/** What containment covers, worked out from the policy when the incident is opened. */
export interface IncidentPlan {
  owner?: string;
  systems: { systemId: string; logins: string[]; rotated?: string[] }[];
  /** The credentials of the identity, rotated at once and again on restore. */
  credentials: string[];
  /** Told of the incident: the owner and the incident group. */
  tell: string[];
  /** The security team's Slack channel, told of every step besides the people. */
  channel?: string;
  rules: IncidentRules;
  alertAfterMs: number;
}

/** What an incident workflow starts from; its input type lives with the workflow's definitions. */
export interface IncidentOpening {
  incidentId: string;
  identity: string;
  severity: Severity;
  reason: string;
  reportedBy: string;
  reportedAt: string;
  plan: IncidentPlan;
}

/** An incident as it stands before anything has been taken: every system pending. */
export function initialState(input: IncidentOpening): IncidentState {
  const { plan, ...facts } = input;
  return {
    ...facts,
    owner: plan.owner,
    status: IncidentStatus.CONTAINING,
    requestsEnded: [],
    systems: plan.systems.map((s) => ({
      ...s,
      status: 'PENDING',
      removed: [],
      disabledLogins: [],
      sessionsTerminated: 0,
    })),
    credentials: [],
    approvals: [],
    retries: [],
  };
}

export interface RestoreInput {
  actor: string;
  reason?: string;
}

const refusal = (type: FailureType, message: string): Refusal => ({ type, message });

function checkText(input: { actor?: unknown; reason?: unknown }): Refusal | undefined {
  if (typeof input.actor !== 'string' || input.actor.length === 0) {
    return refusal(FailureType.InvalidInput, 'the decision names no actor');
  }
  if (input.reason === undefined) return undefined;
  if (typeof input.reason !== 'string' || input.reason.length > MAX_TEXT) {
    return refusal(FailureType.InvalidInput, `a reason must be text of at most ${MAX_TEXT} characters`);
  }
  const problem = unsafeTextProblem(input.reason);
  return problem ? refusal(FailureType.InvalidInput, `the reason ${problem}`) : undefined;
}

const ENDED: IncidentStatus[] = [
  IncidentStatus.RESTORED,
  IncidentStatus.CLOSED,
  IncidentStatus.CLOSING,
  IncidentStatus.RESTORING,
];
/** Open: not yet being restored or closed. A report about its identity joins an open incident. */
export const isOpenIncident = ({ status }: Pick<IncidentState, 'status'>) => !ENDED.includes(status);
const failedSystems = (state: IncidentState) => state.systems.filter((s) => s.status === 'FAILED');
/** A restore that failed on a system may still be closed: the identity then stays quarantined. */
const restoreStuck = (state: IncidentState) =>
  state.status === IncidentStatus.RESTORING && failedSystems(state).length > 0;

/**
 * Two-person control over giving access back: distinct members of the incident group, never
 * the identity itself nor its owner, and only once containment has finished.
 */
export function checkRestoreApproval(state: IncidentState, rules: IncidentRules, input: RestoreInput) {
  const text = checkText(input);
  if (text) return text;
  const { actor } = input;
  if (actor === state.identity) return refusal(FailureType.NotAllowed, `${actor} cannot approve their own restore`);
  if (actor === state.owner) {
    return refusal(FailureType.NotAllowed, `${actor} owns ${state.identity} and cannot approve its restore`);
  }
  if (!rules.approvers.includes(actor)) {
    return refusal(FailureType.NotAllowed, `${actor} is not a member of ${rules.incidentGroup}`);
  }
  if (!isOpenIncident(state)) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is already ${state.status.toLowerCase()}`);
  }
  if (state.status !== IncidentStatus.CONTAINED) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is not contained yet`);
  }
  if (state.approvals.some((a) => a.approver === actor)) {
    return refusal(FailureType.DuplicateDecision, `${actor} has already approved the restore`);
  }
  return undefined;
}

export function checkClose(state: IncidentState, rules: IncidentRules, input: RestoreInput, closingBy?: string) {
  const text = checkText(input);
  if (text) return text;
  if (closingBy)
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is being closed by ${closingBy}`);
  if (input.actor === state.identity)
    return refusal(FailureType.NotAllowed, `${input.actor} cannot close their own incident`);
  if (!rules.closers.includes(input.actor)) {
    return refusal(
      FailureType.NotAllowed,
      `${input.actor} may not close incidents: admins and ${rules.incidentGroup} may`,
    );
  }
  if (!isOpenIncident(state) && !restoreStuck(state)) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is already ${state.status.toLowerCase()}`);
  }
  return undefined;
}

/** Whoever may close may have the systems that failed tried again, once their cause is fixed. */
export function checkRetry(state: IncidentState, rules: IncidentRules, input: RestoreInput, closingBy?: string) {
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
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is being closed by ${closingBy}`);
  }
  if (state.status === IncidentStatus.RESTORED || state.status === IncidentStatus.CLOSED) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} is already ${state.status.toLowerCase()}`);
  }
  if (failedSystems(state).length === 0) {
    return refusal(FailureType.AlreadyDecided, `incident ${state.incidentId} has no failed system to retry`);
  }
  return undefined;
}

export const restoreApproved = (state: IncidentState, rules: IncidentRules) =>
  new Set(state.approvals.map((a) => a.approver)).size >= rules.required;

const tokens = (n: number) => `${n} API token${n === 1 ? '' : 's'}`;

/** What the report shows as the incident's timeline, in order. */
export function timelineOf(state: IncidentState): { at: string; what: string }[] {
  const events: { at?: string; what: string }[] = [
    { at: state.reportedAt, what: `reported by ${state.reportedBy} (${state.severity}): ${state.reason}` },
    { at: state.quarantinedAt, what: `quarantined in keyward; ${tokens(state.tokensRevoked ?? 0)} revoked` },
    ...state.systems.map((s) => ({ at: s.containedAt, what: `${s.systemId} contained (${s.removed.length} removed)` })),
    { at: state.alertedAt, what: 'containment is taking long: alert sent' },
    { at: state.containedAt, what: 'contained everywhere' },
    ...state.approvals.map((a) => ({ at: a.at, what: `restore approved by ${a.approver}` })),
    ...state.systems.map((s) => ({ at: s.restoredAt, what: `${s.systemId} restored` })),
    ...(state.retries ?? []).map((r) => ({ at: r.at, what: `failed systems retried by ${r.actor}` })),
    { at: state.restoredAt, what: 'restored' },
    { at: state.closedAt, what: `closed without restore by ${state.closedBy}` },
  ];
  return events
    .filter((e): e is { at: string; what: string } => e.at !== undefined)
    .sort((a, b) => a.at.localeCompare(b.at));
}

/** What containment still waits for: systems not contained yet, rotations still running. */
export function pendingOf(state: IncidentState): string[] {
  return [
    ...state.systems.filter((s) => s.status === 'PENDING' || s.status === 'FAILED').map((s) => s.systemId),
    ...state.credentials.filter((c) => c.status === 'ROTATING').map((c) => `rotation of ${c.credentialId}`),
  ];
}

/** The incident's report: the timeline, what was removed where, the times to revoke, and who approved what. */
export function incidentReport(state: IncidentState) {
  return {
    incidentId: state.incidentId,
    identity: state.identity,
    severity: state.severity,
    status: state.status,
    reason: state.reason,
    reportedBy: state.reportedBy,
    reportedAt: state.reportedAt,
    timeToRevokeMs: state.timeToRevokeMs ?? null,
    pending: pendingOf(state),
    systems: state.systems.map((s) => ({
      systemId: s.systemId,
      status: s.status,
      containedAt: s.containedAt ?? null,
      timeToRevokeMs: s.timeToRevokeMs ?? null,
      removed: s.removed,
      disabledLogins: s.disabledLogins,
      sessionsTerminated: s.sessionsTerminated,
      lastError: s.lastError ?? null,
    })),
    credentials: state.credentials,
    requestsEnded: state.requestsEnded,
    tokensRevoked: state.tokensRevoked ?? 0,
    approvals: state.approvals,
    closedBy: state.closedBy ?? null,
    closedAt: state.closedAt ?? null,
    closeReason: state.closeReason ?? null,
    timeline: timelineOf(state),
  };
}

export type IncidentReport = ReturnType<typeof incidentReport>;
