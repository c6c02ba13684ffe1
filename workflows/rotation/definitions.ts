import { defineQuery } from '@temporalio/workflow';
import { FailureType } from '../../domain/failures';
import type { RotationState } from '../../domain/rotation';

export interface RotationWorkflowInput {
  credentialId: string;
}

export const rotationStatusQuery = defineQuery<RotationState>('rotationStatus');

/** The failure type of a run that could not rotate; the schedule carries on after it. */
export const ROTATION_FAILED = FailureType.RotationFailed;
