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

const ENDED: IncidentStatus[] = [
  IncidentStatus.RESTORED,
  IncidentStatus.CLOSED,
  IncidentStatus.CLOSING,
  IncidentStatus.RESTORING,
];
/** Open: not yet being restored or closed. A report about its identity joins an open incident. */
export const isOpenIncident = ({ status }: Pick<IncidentState, 'status'>) =>
  !ENDED.includes(status);
