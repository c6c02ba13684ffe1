import { log } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import { loginOf, overlapOf, SECRET_ALPHABETS } from '../domain/policy';
import type { PlanResult, RotationPlan } from '../domain/rotation';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { scramVerifier } from '../integrations/connectors/scram';
import type { SecretCipher } from '../integrations/secrets/cipher';
import { generateSecret } from '../integrations/secrets/generate';
import { appendAuditEvent } from '../store/audit';
import {
  endVersion,
  ensurePendingVersion,
  markVersionSet,
  promoteVersion,
  sealContext,
  versionWithLabel,
} from '../store/credential-versions';
import { ensureCredential, lastRotatedAt, recordRotationOutcome } from '../store/credentials';
import type { Db } from '../store/db';
import { quarantiningIncident } from '../store/incidents';
import { createRotationRollbackActivities } from './rotation-rollback';
import { ROTATION_ACTOR, rotationLookups } from './rotation-lookups';

export interface RotationDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  policy: () => PolicyView;
  cipher: SecretCipher;
}

const SCHEDULE_PRECISION_MS = 1_000;

export function createRotationActivities(deps: RotationDeps) {
  const { db, cipher } = deps;
  const { credentialOf, versionOf, secretOf, onSystem, refuseWhileQuarantined } =
    rotationLookups(deps);

  return {
    /**
     * Decides what a run does: which login gets the new secret and what it falls back to. A run
     * the schedule started for a time that a later rotation already covered is skipped, so a
     * credential is rotated once after downtime, not once per missed interval. While the identity
     * is quarantined only its incident rotates it: any other run would let its logins in again.
     */
    async planRotation(input: {
      credentialId: string;
      scheduledAt: string;
      incident?: RotationPlan['incident'];
    }): Promise<PlanResult> {
      const credential = credentialOf(input.credentialId);
      const identity = deps.policy().identity(credential.identity)!;
      await ensureCredential(db, credential);
      const quarantinedBy = input.incident
        ? undefined
        : await quarantiningIncident(db, identity.id);
      if (quarantinedBy) {
        return {
          kind: 'skip',
          reason: `${identity.id} is quarantined by incident ${quarantinedBy}`,
        };
      }
      const last = await lastRotatedAt(db, credential.id);
      // Temporal keeps the time a run was due to the second, so a rotation that finished within
      // that second (just before someone asked for another) does not count as covering it.
      if (last && last.getTime() - Date.parse(input.scheduledAt) >= SCHEDULE_PRECISION_MS) {
        return {
          kind: 'skip',
          reason: `already rotated at ${last.toISOString()}, after this run was due at ${input.scheduledAt}`,
        };
      }
      const current = await versionWithLabel(db, credential.id, 'current');
      let login = loginOf(identity, credential.system);
      if (credential.strategy === 'alternating-logins' && credential.logins) {
        // The login not in use takes the new secret; the one in use keeps working meanwhile.
        login = credential.logins.find((l) => l !== current?.login) ?? credential.logins[0];
      }
      const plan: RotationPlan = {
        credentialId: credential.id,
        identity: identity.id,
        systemId: credential.system,
        strategy: credential.strategy,
        login,
        current: current && { versionId: current.id, login: current.login },
        overlapMs: overlapOf(credential),
        tell: deps
          .policy()
          .people([...(identity.owner ? [identity.owner] : []), ...credential.notify]),
        ...(input.incident && { incident: input.incident }),
      };
      return { kind: 'rotate', plan };
    },

    /** Generates the new secret and stores it, sealed, as the run's pending version; once per run. */
    async createPendingVersion(input: {
      credentialId: string;
      workflowId: string;
      login: string;
    }): Promise<{ versionId: string }> {
      const { generator } = credentialOf(input.credentialId);
      const { version, created, abandoned } = await ensurePendingVersion(db, {
        credentialId: input.credentialId,
        workflowId: input.workflowId,
        login: input.login,
        seal: (versionId) =>
          cipher.seal(
            generateSecret(generator.length, SECRET_ALPHABETS[generator.alphabet]),
            sealContext(input.credentialId, versionId),
          ),
      });
      if (abandoned) log.warn('Replaced a pending version left by an earlier run', { abandoned });
      if (created)
        log.info('Generated a pending version', {
          credentialId: input.credentialId,
          versionId: version.id,
        });
      return { versionId: version.id };
    },

    /**
     * Puts the pending secret on the target. Alternating logins first give the standby login
     * exactly the memberships of the one in use, so consumers lose nothing when they switch.
     */
    async setOnTarget(input: {
      plan: RotationPlan;
      versionId: string;
      quarantined?: boolean;
    }): Promise<void> {
      const { plan } = input;
      await refuseWhileQuarantined(plan);
      const version = await versionOf(input.versionId);
      if (version.label === 'current') return;
      const verifier = scramVerifier(secretOf(version));
      const alternating = plan.strategy === 'alternating-logins';
      await onSystem(
        plan.systemId,
        `set the new secret of ${plan.credentialId}`,
        async (target) => {
          // A quarantined identity's memberships were taken on purpose; its logins stay shut.
          if (
            alternating &&
            !input.quarantined &&
            plan.current &&
            plan.current.login !== version.login
          ) {
            const [want, have] = await Promise.all([
              target.membershipsOf(plan.current.login),
              target.membershipsOf(version.login),
            ]);
            for (const role of want.filter((r) => !have.includes(r)))
              await target.ensureGranted(role, version.login);
            for (const role of have.filter((r) => !want.includes(r)))
              await target.ensureRevoked(role, version.login);
          }
          await target.setPasswordVerifier(version.login, verifier, {
            enableLogin: alternating && !input.quarantined,
          });
        },
      );
      await markVersionSet(db, version.id);
    },

    /** Logs in to the target with the version's secret. */
    async testVersion(input: { credentialId: string; versionId: string }): Promise<void> {
      const version = await versionOf(input.versionId);
      if (version.label === 'current') return;
      const { system } = credentialOf(input.credentialId);
      await onSystem(system, `log in as ${version.login} with the new secret`, (target) =>
        target.checkLogin(version.login, secretOf(version)),
      );
    },

    /** Pending becomes current and the previous current is kept for the overlap window. */
    async promoteVersion(input: {
      plan: RotationPlan;
      versionId: string;
      workflowId: string;
    }): Promise<{ promotedAt: string; previousVersionId?: string }> {
      const { plan } = input;
      const { previous, retired } = await promoteVersion(db, plan.credentialId, input.versionId);
      const version = await versionOf(input.versionId);
      await recordRotationOutcome(db, plan.credentialId, {
        status: 'rotated',
        workflowId: input.workflowId,
      });
      await appendAuditEvent(db, {
        key: `${input.workflowId}/rotated`,
        actor: ROTATION_ACTOR,
        action: 'credential.rotated',
        subject: plan.credentialId,
        workflowId: input.workflowId,
        details: {
          version: version.id,
          login: version.login,
          ...(previous && { previous: previous.id }),
          ...(retired && { retired }),
        },
      });
      return { promotedAt: version.promoted_at!.toISOString(), previousVersionId: previous?.id };
    },

    /** After the overlap: the previous secret stops working and its value is erased. */
    async retirePrevious(input: {
      plan: RotationPlan;
      previousVersionId: string;
      currentVersionId: string;
      workflowId: string;
    }): Promise<void> {
      const { plan } = input;
      const [previous, current] = await Promise.all([
        versionOf(input.previousVersionId),
        versionOf(input.currentVersionId),
      ]);
      if (previous.label !== 'previous') return;
      // A single login's old password stopped working when the new one was set; an alternating
      // login that is not the current one is shut.
      if (previous.login !== current.login) {
        await onSystem(plan.systemId, `retire login ${previous.login}`, (target) =>
          target.disableLogin(previous.login),
        );
      }
      await endVersion(db, previous.id, 'retired');
      await appendAuditEvent(db, {
        key: `${input.workflowId}/retired`,
        actor: ROTATION_ACTOR,
        action: 'credential.retired',
        subject: plan.credentialId,
        workflowId: input.workflowId,
        details: { version: previous.id, login: previous.login },
      });
    },

    ...createRotationRollbackActivities(deps),
  };
}

export type RotationActivities = ReturnType<typeof createRotationActivities>;
