import { defineQuery } from '@temporalio/workflow';
import type { RotationState } from '../../domain/rotation';

export interface RotationWorkflowInput {
  credentialId: string;
  /**
   * Set by an incident: the identity's logins are disabled, so the new secret is set without
   * enabling a login or copying memberships, and cannot be tested by logging in.
   */
  quarantined?: boolean;
}

export const rotationStatusQuery = defineQuery<RotationState>('rotationStatus');

/** The failure type of a run that could not rotate; the schedule carries on after it. */
export const ROTATION_FAILED = 'RotationFailed';
