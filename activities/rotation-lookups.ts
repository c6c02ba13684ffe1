import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures';
import type { Credential } from '../domain/policy';
import type { RotationPlan } from '../domain/rotation';
import type { TargetConnector } from '../integrations/connectors/types';
import { findVersion, sealContext } from '../store/credential-versions';
import type { VersionRow } from '../store/credential-versions';
import { quarantiningIncident } from '../store/incidents';
import { onTarget } from './failures';
import type { RotationDeps } from './rotation';

// What every rotation activity looks up: the credential, a version and its secret, a quarantine.

/** The actor of the audit events a rotation writes: the schedule acts on the policy's behalf. */
export const ROTATION_ACTOR = 'keyward:rotation';

export function rotationLookups(deps: RotationDeps) {
  const { db, cipher } = deps;

  function credentialOf(credentialId: string): Credential {
    const credential = deps.policy().credential(credentialId);
    if (credential) return credential;
    throw ApplicationFailure.nonRetryable(
      `credential ${credentialId} is not in the policy`,
      FailureType.Misconfigured,
    );
  }

  async function versionOf(versionId: string): Promise<VersionRow> {
    const version = await findVersion(db, versionId);
    if (!version)
      throw ApplicationFailure.nonRetryable(
        `version ${versionId} does not exist`,
        FailureType.InvalidInput,
      );
    return version;
  }

  function secretOf(version: VersionRow): string {
    if (!version.sealed) {
      throw ApplicationFailure.nonRetryable(
        `version ${version.id} of ${version.credential_id} is ${version.label}; its value is gone`,
        FailureType.InvalidInput,
      );
    }
    return cipher.open(version.sealed, sealContext(version.credential_id, version.id));
  }

  const onSystem = <T>(systemId: string, doing: string, work: (c: TargetConnector) => Promise<T>) =>
    onTarget(deps.connectors, systemId, doing, work);

  /** The incident that quarantined the plan's identity after the run planned; its own runs are never refused. */
  async function quarantinedSince(plan: RotationPlan): Promise<string | undefined> {
    return plan.incident ? undefined : quarantiningIncident(db, plan.identity);
  }

  // A run planned just before an incident opened must not set (and enable) a login the incident shut.
  async function refuseWhileQuarantined(plan: RotationPlan): Promise<void> {
    const incidentId = await quarantinedSince(plan);
    if (!incidentId) return;
    throw ApplicationFailure.nonRetryable(
      `${plan.identity} is quarantined by incident ${incidentId}; only the incident rotates ${plan.credentialId}`,
      FailureType.NotAllowed,
    );
  }

  return { credentialOf, versionOf, secretOf, onSystem, quarantinedSince, refuseWhileQuarantined };
}
