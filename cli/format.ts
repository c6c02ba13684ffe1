import { formatDuration } from '../domain/duration';
import type { JitState } from '../domain/jit';

/** Prints rows as aligned columns under a header. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [
    headers,
    ...rows.map((row) =>
      row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))),
    ),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Every time the CLI prints is UTC, as the audit log's are: one clock for everyone reading. */
export const shownTime = (iso: string | null | undefined): string | null =>
  iso ? `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC` : null;

const time = (iso: string | undefined) => shownTime(iso) ?? '-';

export function describeRequest(state: JitState): string {
  const { plan } = state;
  const lines = [
    `Request ${state.requestId}`,
    `  status:        ${state.status}`,
    `  requester:     ${state.requester} (login ${plan.login} on ${plan.systemId})`,
    `  entitlement:   ${plan.entitlementId} (role ${plan.role}, ${plan.riskTier} risk) ` +
      `for ${formatDuration(plan.durationMs)}`,
    `  reason:        ${state.reason || '-'}`,
    `  approvals:     ${state.approvals.length}/${plan.required}` +
      (state.approvals.length
        ? ` (${state.approvals.map((a) => `${a.approver} at ${time(a.at)}`).join(', ')})`
        : ''),
  ];
  if (state.status === 'PENDING') {
    lines.push(
      `  approvers:     ${plan.eligibleApprovers.join(', ')} (decide before ${time(state.approvalDeadline)})`,
    );
  }
  if (state.denial)
    lines.push(
      `  denied by:     ${state.denial.approver} at ${time(state.denial.at)}: ${state.denial.reason}`,
    );
  if (state.grantedAt) lines.push(`  granted at:    ${time(state.grantedAt)}`);
  if (state.status === 'GRANTED') lines.push(`  granted until: ${time(state.expiresAt)}`);
  if (state.revokedAt) {
    // Lateness matters for expiry only: it says how long access outlived its end (workers down).
    const lateMs = state.revokeCause === 'expired' ? (state.revokeLatenessMs ?? 0) : 0;
    const late = lateMs >= 1_000 ? `, ${formatDuration(lateMs)} late` : '';
    lines.push(
      `  revoked:       ${time(state.revokedAt)} by ${state.revokedBy} (${state.revokeCause}${late})`,
    );
  }
  if (state.failure) lines.push(`  failure:       ${state.failure}`);
  return lines.join('\n');
}
