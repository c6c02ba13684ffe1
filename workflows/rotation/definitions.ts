import { defineQuery } from '@temporalio/workflow';
import { FailureType } from '../../domain/failures';
import type { RotationState } from '../../domain/rotation';

export interface RotationWorkflowInput {
  credentialId: string;
  /**
   * Set when an incident rotates. In `containment` the identity's logins are disabled, so the new
   * secret is set without enabling a login or copying memberships, and cannot be tested by
   * logging in. In both phases the previous secret is retired at once: during containment it is
   * the compromised one, and on restore no consumer has used the new one yet.
   */
  incident?: 'containment' | 'restore';
}

export const rotationStatusQuery = defineQuery<RotationState>('rotationStatus');

/** The failure type of a run that could not rotate; the schedule carries on after it. */
export const ROTATION_FAILED = FailureType.RotationFailed;
