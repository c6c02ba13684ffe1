import { formatDuration } from './duration';
import type { JitState } from './jit';

/** The moments of a request that people hear about. */
export type NoticeEvent =
  | 'approval-needed'
  | 'decision'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'granted'
  | 'expiring'
  | 'revoked'
  | 'cancelled'
  | 'failed';

/** Events the requester is told about, in Slack and by email. */
export const REQUESTER_EVENTS: readonly NoticeEvent[] = [
  'approved',
  'denied',
  'expired',
  'granted',
  'expiring',
  'revoked',
  'failed',
];

/** Renders a timestamp for people: Slack gets a token it shows in each reader's time zone. */
export type TimeFormat = (iso: string) => string;

export const utcTime: TimeFormat = (iso) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** The same facts, whichever channel carries them. */
export interface RequestFacts {
  requestId: string;
  requester: string;
  entitlement: string;
  system: string;
  riskTier: string;
  duration: string;
  justification: string;
  rule: string;
}

export function requestFacts(state: JitState, displayName: (id: string) => string): RequestFacts {
  const { plan } = state;
  const groups = plan.approverGroups.join(' or ');
  return {
    requestId: state.requestId,
    requester: displayName(state.requester),
    entitlement: plan.entitlementId,
    system: plan.systemId,
    riskTier: plan.riskTier,
    duration: formatDuration(plan.durationMs),
    justification: state.reason || '(none given)',
    rule:
      plan.required === 0
        ? 'approved automatically'
        : `${plan.required} approval(s) from ${groups}`,
  };
}

/** One line that says where the request stands, for the approvers' copies of the message. */
export function outcomeLine(
  state: JitState,
  time: TimeFormat,
  displayName: (id: string) => string,
): string {
  const approvedBy = state.approvals
    .map((a) => `${displayName(a.approver)} at ${time(a.at)}`)
    .join(', ');
  switch (state.status) {
    case 'PENDING': {
      const missing = state.plan.required - state.approvals.length;
      if (!state.approvals.length)
        return `Waiting for a decision until ${time(state.approvalDeadline)}`;
      return missing > 0
        ? `Approved by ${approvedBy}; waiting for ${missing} more`
        : `Approved by ${approvedBy}; granting`;
    }
    case 'DENIED':
      return `Denied by ${displayName(state.denial!.approver)} at ${time(state.denial!.at)}: ${state.denial!.reason}`;
    case 'EXPIRED':
      return 'Expired: nobody decided within the approval window';
    case 'CANCELLED':
      return `Cancelled by ${displayName(state.revokedBy ?? state.requester)}`;
    case 'GRANTED':
      return `Approved by ${approvedBy}; granted until ${time(state.expiresAt!)}`;
    case 'REVOKED':
      return `Approved by ${approvedBy || 'policy'}; access ended at ${time(state.revokedAt!)} (${state.revokeCause})`;
    case 'REVOKE_FAILED':
      return `Revocation failed and is being retried: ${state.failure}`;
    case 'FAILED':
      return `The grant failed: ${state.failure}`;
  }
}

/** What the requester is told, as a subject and a sentence. */
export function requesterNotice(
  event: NoticeEvent,
  state: JitState,
  time: TimeFormat,
  displayName: (id: string) => string,
): { subject: string; text: string } {
  const what = `${state.plan.entitlementId} for ${formatDuration(state.plan.durationMs)}`;
  const approvers = state.approvals.map((a) => displayName(a.approver)).join(', ');
  const access = `${state.plan.role} access on ${state.plan.systemId}`;
  switch (event) {
    case 'approved':
      return {
        subject: `Approved: ${what}`,
        text: `Your request for ${what} was approved by ${approvers}.`,
      };
    case 'denied':
      return {
        subject: `Denied: ${what}`,
        text: `Your request for ${what} was denied by ${displayName(state.denial!.approver)}: ${state.denial!.reason}`,
      };
    case 'expired':
      return {
        subject: `Expired: ${what}`,
        text: `Nobody decided on your request for ${what} in time; ask again if you still need it.`,
      };
    case 'granted':
      return {
        subject: `Granted: ${what}`,
        text: `You have ${state.plan.role} on ${state.plan.systemId} until ${time(state.expiresAt!)}.`,
      };
    case 'expiring':
      return {
        subject: `Ending soon: ${what}`,
        text: `Your ${state.plan.role} access on ${state.plan.systemId} ends at ${time(state.expiresAt!)}.`,
      };
    case 'revoked':
      return {
        subject: `Ended: ${what}`,
        text: `Your ${access} ended at ${time(state.revokedAt!)} (${state.revokeCause}).`,
      };
    case 'failed':
      return {
        subject: `Failed: ${what}`,
        text: `keyward could not grant ${what}: ${state.failure}`,
      };
    default:
      return { subject: `Request ${state.requestId}`, text: outcomeLine(state, time, displayName) };
  }
}
