import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { IncidentOpening, IncidentState, RestoreInput } from '../../domain/incident';

export const incidentWorkflowId = (incidentId: string): string => `incident/${incidentId}`;

/** Who reported whom, when, and what containment covers; the report time anchors every time to revoke. */
export type IncidentWorkflowInput = IncidentOpening;

// Updates, not Signals: an approver learns at once whether the approval counted (a second
// approval from the same person, the identity approving itself) and a refused one is not in history.
// Each answers once the decision is recorded; what follows (containment, restore) is read from the status.
export const approveRestoreUpdate = defineUpdate<IncidentState, [RestoreInput]>('approveRestore');
export const closeIncidentUpdate = defineUpdate<IncidentState, [RestoreInput]>('closeIncident');
/** Tries the systems that failed (containment or restore) again, once someone fixed what made them fail. */
export const retryIncidentUpdate = defineUpdate<IncidentState, [RestoreInput]>('retryIncident');
export const incidentStatusQuery = defineQuery<IncidentState>('incidentStatus');
