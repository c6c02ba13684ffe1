import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { IncidentPlan, IncidentState, RestoreInput, Severity } from '../../domain/incident';

export const incidentWorkflowId = (incidentId: string): string => `incident/${incidentId}`;

export interface IncidentWorkflowInput {
  incidentId: string;
  identity: string;
  severity: Severity;
  reason: string;
  reportedBy: string;
  /** When the report arrived; every time-to-revoke is measured from here. */
  reportedAt: string;
  plan: IncidentPlan;
}

// Updates, not Signals: an approver learns at once whether the approval counted (a second
// approval from the same person, the identity approving itself) and a refused one is not in history.
export const approveRestoreUpdate = defineUpdate<IncidentState, [RestoreInput]>('approveRestore');
export const closeIncidentUpdate = defineUpdate<IncidentState, [RestoreInput]>('closeIncident');
export const incidentStatusQuery = defineQuery<IncidentState>('incidentStatus');
