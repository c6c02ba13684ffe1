import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ChildWorkflowFailure,
  ParentClosePolicy,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { campaignWorkflowId } from '../../domain/campaign';
import { records } from './proxies';
import { campaignWorkflow } from './workflow';

/** Set by Temporal on every run a schedule starts: the time the run was due. */
const SCHEDULED_START = { name: 'TemporalScheduledStartTime', type: 'DATETIME' } as const;

/**
 * What a recurring campaign's schedule starts: records this occurrence as a campaign, named after
 * the time it was due so a repeated run records nothing new, starts its campaign workflow and
 * waits for it, so the schedule's overlap policy sees the campaign as running until it ends. The
 * campaign would survive this workflow's termination (ABANDON); its id stays campaign/<campaignId>.
 */
export async function scheduledCampaignWorkflow(input: { definitionId: string }): Promise<string> {
  const scheduledAt =
    workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? new Date(workflowInfo().startTime);
  const { campaignId } = await records.createScheduledCampaign({
    definitionId: input.definitionId,
    scheduledAt: scheduledAt.toISOString(),
  });
  let campaign;
  try {
    campaign = await startChild(campaignWorkflow, {
      workflowId: campaignWorkflowId(campaignId),
      args: [{ campaignId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A repeated occurrence must not run a finished campaign again over its evidence.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    // A repeated occurrence: the campaign is already under way or over.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return campaignId;
  }
  try {
    await campaign.result();
  } catch (err) {
    // A campaign that was cancelled or failed has recorded how it ended; the occurrence is over.
    if (!(err instanceof ChildWorkflowFailure)) throw err;
  }
  return campaignId;
}
