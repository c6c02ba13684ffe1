export { jitWorkflow } from './jit/workflow';
export { sweepWorkflow } from './sweep/workflow';
export { rotationWorkflow } from './rotation/workflow';
export { incidentWorkflow } from './incident/workflow';
export { campaignWorkflow } from './campaign/workflow';
export { reviewerWorkflow } from './campaign/reviewer';
export { campaignRemediationWorkflow } from './campaign/remediation';
export { scheduledCampaignWorkflow } from './campaign/scheduled';
