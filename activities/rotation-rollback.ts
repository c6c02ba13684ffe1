import type { RollbackResult, RotationPlan, RotationStep } from '../domain/rotation';
import { scramVerifier } from '../integrations/connectors/scram';
import { appendAuditEvent } from '../store/audit';
import { endVersion } from '../store/credential-versions';
import { recordRotationOutcome } from '../store/credentials';
import type { RotationDeps } from './rotation';
import { ROTATION_ACTOR, rotationLookups } from './rotation-lookups';

// Undoing a rotation that failed to set or test, and putting the failure on record.

export function createRotationRollbackActivities(deps: RotationDeps) {
  const { db } = deps;
  const { versionOf, secretOf, quarantinedSince } = rotationLookups(deps);

  return {
    /**
     * Undoes a rotation that failed to set or test: the previous secret goes back on the target
     * and is tested, the standby login is shut, and the pending version is failed and erased.
     * It reports what it achieved rather than throwing, so the run can say it and fail cleanly.
     */
    async rollBack(input: {
      plan: RotationPlan;
      versionId: string;
      workflowId: string;
    }): Promise<RollbackResult> {
      const { plan } = input;
      const pending = await versionOf(input.versionId);
      const result: RollbackResult = {
        hadPrevious: Boolean(plan.current),
        restored: false,
        verified: false,
      };
      // The incident owns the target now: putting the previous (compromised) secret back would undo it.
      const incidentId = await quarantinedSince(plan);
      if (incidentId) {
        await endVersion(db, pending.id, 'failed');
        return { ...result, detail: `left to incident ${incidentId}; the target was not touched` };
      }
      const problems: string[] = [];
      const step = async (work: () => Promise<void>) =>
        work().catch((err: unknown) => void problems.push((err as Error).message));
      const target = deps.connectors.get(plan.systemId);

      if (
        pending.label === 'pending' &&
        plan.current?.login !== pending.login &&
        plan.strategy === 'alternating-logins'
      ) {
        await step(() => target.disableLogin(pending.login));
      }
      if (plan.current) {
        const previous = await versionOf(plan.current.versionId);
        const secret = secretOf(previous);
        if (plan.strategy === 'single-login') {
          await step(async () => {
            await target.setPasswordVerifier(previous.login, scramVerifier(secret), {
              enableLogin: false,
            });
            result.restored = true;
          });
        } else {
          // The login in use was never touched.
          result.restored = true;
        }
        await step(async () => {
          await target.checkLogin(previous.login, secret);
          result.verified = true;
        });
      }
      await endVersion(db, pending.id, 'failed');
      if (problems.length) result.detail = problems.join('; ');
      return result;
    },

    async recordRotationFailure(input: {
      plan: RotationPlan;
      versionId: string;
      workflowId: string;
      failure: { step: RotationStep; message: string };
      rollback: RollbackResult;
    }): Promise<void> {
      const { plan, failure } = input;
      await recordRotationOutcome(db, plan.credentialId, {
        status: 'failed',
        workflowId: input.workflowId,
        error: `${failure.step}: ${failure.message}`,
      });
      await appendAuditEvent(db, {
        key: `${input.workflowId}/failed`,
        actor: ROTATION_ACTOR,
        action: 'credential.rotation_failed',
        subject: plan.credentialId,
        workflowId: input.workflowId,
        details: {
          version: input.versionId,
          step: failure.step,
          reason: failure.message,
          rollback: input.rollback,
        },
      });
    },
  };
}
