import { countOf } from './text';
import type { IncidentState } from './incident';

const tokens = (n: number) => countOf(n, 'API token');

/** What the report shows as the incident's timeline, in order. */
export function timelineOf(state: IncidentState): { at: string; what: string }[] {
  const events: { at?: string; what: string }[] = [
    {
      at: state.reportedAt,
      what: `reported by ${state.reportedBy} (${state.severity}): ${state.reason}`,
    },
    {
      at: state.quarantinedAt,
      what: `quarantined in keyward; ${tokens(state.tokensRevoked ?? 0)} revoked`,
    },
    ...state.systems.map((s) => ({
      at: s.containedAt,
      what: `${s.systemId} contained (${s.removed.length} removed)`,
    })),
    { at: state.alertedAt, what: 'containment is taking long: alert sent' },
    { at: state.containedAt, what: 'contained everywhere' },
    ...state.approvals.map((a) => ({ at: a.at, what: `restore approved by ${a.approver}` })),
    ...state.systems.map((s) => ({ at: s.restoredAt, what: `${s.systemId} restored` })),
    ...(state.retries ?? []).map((r) => ({
      at: r.at,
      what: `failed systems retried by ${r.actor}`,
    })),
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
    ...state.systems
      .filter((s) => s.status === 'PENDING' || s.status === 'FAILED')
      .map((s) => s.systemId),
    ...state.credentials
      .filter((c) => c.status === 'ROTATING')
      .map((c) => `rotation of ${c.credentialId}`),
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
