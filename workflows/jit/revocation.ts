import { sleep } from '@temporalio/workflow';
import type { AuditEventInput } from '../../domain/audit';
import { failureMessage } from '../shared';
import { JitStatus } from '../../domain/jit';
import type { JitState, RevokeCause } from '../../domain/jit';
import { targets } from './proxies';

export type Recorder = (
  event: Omit<AuditEventInput, 'workflowId' | 'subject' | 'key'> & { step: string },
) => Promise<void>;

const FIRST_RETRY_MS = 60_000;
const LONGEST_RETRY_MS = 3_600_000;

export const iso = (ms: number) => new Date(ms).toISOString();

export function targetOf(state: JitState) {
  return { requestId: state.requestId, systemId: state.plan.systemId, role: state.plan.role, login: state.plan.login };
}

/**
 * Revokes until it succeeds. A revocation that retrying could not fix (the target refuses us)
 * must not be forgotten: the grant reads REVOKE_FAILED, is tried again with a growing pause, and
 * the audit log hears of each new kind of failure once.
 */
export async function revokeUntilDone(
  state: JitState,
  cause: RevokeCause,
  by: { actor: string; reason?: string },
  record: Recorder,
): Promise<void> {
  const dueAt = cause === 'expired' ? state.expiresAt! : iso(Date.now());
  let pause = FIRST_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await targets.revokeAccess({ ...targetOf(state), dueAt, revokedBy: by.actor, cause });
      Object.assign(state, {
        status: JitStatus.REVOKED,
        revokedAt: done.revokedAt,
        revokeCause: cause,
        revokedBy: by.actor,
        revokeLatenessMs: done.latenessMs,
        failure: undefined,
      });
      break;
    } catch (err) {
      const message = failureMessage(err);
      if (message !== state.failure) {
        await record({
          step: `revoke-failed/${attempt}`,
          actor: 'keyward',
          action: 'grant.revoke_failed',
          details: { error: message },
        });
      }
      Object.assign(state, { status: JitStatus.REVOKE_FAILED, failure: message });
      await sleep(pause);
      pause = Math.min(pause * 2, LONGEST_RETRY_MS);
    }
  }
  await record({
    step: 'revoked',
    actor: by.actor,
    action: 'grant.revoked',
    approvalPath: state.approvals.map(({ approver, at }) => ({ approver, at })),
    details: { cause, latenessMs: state.revokeLatenessMs, reason: by.reason },
  });
}
