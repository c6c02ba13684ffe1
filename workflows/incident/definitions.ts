import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { IncidentOpening, IncidentState, RestoreInput } from '../../domain/incident';

export const incidentWorkflowId = (incidentId: string): string => `incident/${incidentId}`;

/** Who reported whom, when, and what containment covers; the report time anchors every time to revoke. */
export type IncidentWorkflowInput = IncidentOpening;

// Updates, not Signals: an approver learns at once whether the approval counted (a second
// approval from the same person, the identity approving itself) and a refused one is not in history.
export const approveRestoreUpdate = defineUpdate<IncidentState, [RestoreInput]>('approveRestore');
export const closeIncidentUpdate = defineUpdate<IncidentState, [RestoreInput]>('closeIncident');
export const incidentStatusQuery = defineQuery<IncidentState>('incidentStatus');
