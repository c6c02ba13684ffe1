import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { CampaignPhase, campaignWorkflowId, remediationWorkflowId } from '../domain/campaign';
import type { CampaignState } from '../domain/campaign';
import { CampaignSpecSchema } from '../domain/campaign-spec';
import type { CampaignSpec } from '../domain/campaign-spec';
import type { PolicyView } from '../domain/access';
import { scopeProblems } from '../domain/campaign-fields';
import * as store from '../store/campaigns';
import { campaignStatusQuery } from '../workflows/campaign/definitions';
import type { campaignRemediationWorkflow } from '../workflows/campaign/remediation';
import type { campaignWorkflow } from '../workflows/campaign/workflow';
import type { Deps } from './app';
import { HttpError } from './errors';

/**
 * What admins do to campaigns, each recorded in the audit log under their name: the workflows
 * record what follows from it (the launch, the defaults, the revocations) as keyward's own.
 */

export function auditAdminAction(
  deps: Pick<Deps, 'db'>,
  actor: string,
  campaignId: string,
  action: string,
  details: Record<string, unknown> = {},
  key = `campaign/${campaignId}/${action}/${randomUUID()}`,
) {
  return store.appendCampaignEvent(deps.db, {
    key,
    campaignId,
    action: `campaign.${action}`,
    actor,
    details,
  });
}

/**
 * Records the campaign and starts its workflow. The row comes first, as the workflow reads its
 * settings from it; an id already taken is refused (its evidence must stand), and a row whose
 * workflow could not be started is taken back so the same id can be tried again.
 */
export async function startCampaign(
  deps: Deps,
  actor: string,
  id: string,
  spec: CampaignSpec,
  definitionId?: string,
): Promise<{ id: string; workflowId: string }> {
  const created = await store.createCampaign(deps.db, {
    id,
    name: spec.name,
    spec,
    createdBy: actor,
    definitionId,
  });
  if (!created) {
    const existing = await store.findCampaign(deps.db, id);
    throw new HttpError(
      409,
      `campaign ${id} already exists (${existing?.status.toLowerCase() ?? 'just started'})`,
    );
  }
  const workflowId = campaignWorkflowId(id);
  try {
    await deps.temporal.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
      workflowId,
      taskQueue: deps.taskQueue,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ campaignId: id }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      await store.deleteUnstartedCampaign(deps.db, id);
      throw err;
    }
  }
  await auditAdminAction(deps, actor, id, 'started', { spec }, `campaign/${id}/started`);
  return { id, workflowId };
}

/** The campaign's phase as its workflow knows it, or as recorded once Temporal holds it no more. */
export async function campaignPhase(deps: Deps, campaign: store.CampaignRecord): Promise<string> {
  try {
    const handle = deps.temporal.workflow.getHandle(campaignWorkflowId(campaign.id));
    return (await handle.query(campaignStatusQuery)).phase;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return campaign.status;
  }
}

/** Phases in which a cancellation still changes nothing recorded. */
const CANCELLABLE: string[] = [
  CampaignPhase.LAUNCHING,
  CampaignPhase.REVIEWING,
  CampaignPhase.AWAITING_CONFIRMATION,
];

/**
 * Stops a campaign that has not begun applying its decisions. Once the defaults are being
 * written and the revocations made, it goes to its end: stopping half-way would leave decisions
 * recorded and not applied.
 */
export async function cancelCampaign(deps: Deps, actor: string, campaign: store.CampaignRecord) {
  const handle = deps.temporal.workflow.getHandle(campaignWorkflowId(campaign.id));
  const phase = await campaignPhase(deps, campaign);
  if (!CANCELLABLE.includes(phase)) {
    const why =
      phase === CampaignPhase.REMEDIATING
        ? 'it is applying its decisions and goes on to its end'
        : `it has already ended (${phase.toLowerCase()})`;
    throw new HttpError(409, `campaign ${campaign.id} can no longer be cancelled: ${why}`);
  }
  try {
    await handle.cancel();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw new HttpError(409, `campaign ${campaign.id} has already ended`);
  }
  await auditAdminAction(deps, actor, campaign.id, 'cancel_requested', { phase });
  return { cancelled: true };
}

/**
 * Tries a completed campaign's failed revocations again, after whatever made the target refuse
 * them was fixed. Only one remediation of a campaign runs at a time.
 */
export async function remediateCampaign(
  deps: Deps,
  actor: string,
  campaign: store.CampaignRecord,
): Promise<{ workflowId: string; failed: number }> {
  const { id } = campaign;
  if (campaign.status !== CampaignPhase.COMPLETED) {
    const status = campaign.status.toLowerCase();
    throw new HttpError(409, `campaign ${id} has not completed (${status}); nothing to retry yet`);
  }
  const failed = (await store.remediationCounts(deps.db, id)).failed ?? 0;
  if (failed === 0) throw new HttpError(409, `campaign ${id} has no failed revocations to retry`);
  const workflowId = remediationWorkflowId(id);
  try {
    await deps.temporal.workflow.start<typeof campaignRemediationWorkflow>(
      'campaignRemediationWorkflow',
      {
        workflowId,
        taskQueue: deps.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: [{ campaignId: id, requestedBy: actor }],
      },
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    throw new HttpError(409, `the revocations of campaign ${id} are already being retried`);
  }
  await auditAdminAction(deps, actor, id, 'remediation_requested', { failed });
  return { workflowId, failed };
}

/** The audit action an admin's answer to a held mass revocation is recorded as. */
export const holdAnswerAction = (state: CampaignState) =>
  state.declinedBy ? 'revocations_declined' : 'revocations_confirmed';

/** Groups and scope entries the policy does not have would leave a campaign with nobody or nothing. */
export function refuseUnknownNames(view: PolicyView, spec: CampaignSpec): void {
  const group = spec.reviewers.startsWith('group:') ? spec.reviewers.slice(6) : undefined;
  for (const g of [group, spec.fallbackGroup]) {
    if (g && view.members(g).length === 0) throw new HttpError(400, `no group ${g} in the policy`);
  }
  const known = {
    systems: new Set(view.policy.systems.map((s) => s.id)),
    entitlements: new Set(view.policy.entitlements.map((e) => e.id)),
  };
  const problems = scopeProblems(spec.scope, known).map(
    ({ path, message }) => `${path.join('.')}: ${message}`,
  );
  if (problems.length > 0) throw new HttpError(400, `invalid request: ${problems.join('; ')}`);
}

/** Progress per reviewer from the items' record, and the phase from the workflow itself. */
export async function campaignStatus(deps: Deps, campaign: store.CampaignRecord) {
  const { id } = campaign;
  // A finished campaign still answers queries; one Temporal no longer holds falls back to the record.
  let state: CampaignState | undefined;
  try {
    state = await deps.temporal.workflow
      .getHandle(campaignWorkflowId(id))
      .query(campaignStatusQuery);
  } catch {
    state = undefined;
  }
  const reviewers = await store.progressByReviewer(deps.db, id);
  const spec = storedSpec(campaign);
  const overdueAfter = campaign.launchedAt
    ? Date.parse(campaign.launchedAt) + (spec.escalateAfterMs ?? spec.deadlineMs)
    : Infinity;
  const overdue = Date.now() > overdueAfter;
  const totals = reviewers.reduce(
    (sum, r) => ({
      items: sum.items + r.total,
      decided: sum.decided + r.decided,
      pending: sum.pending + r.pending,
    }),
    { items: 0, decided: 0, pending: 0 },
  );
  return {
    campaign: { ...campaign, spec },
    phase: state?.phase ?? campaign.status,
    totals,
    reviewers: reviewers.map((r) => ({ ...r, overdue: overdue ? r.pending : 0 })),
    remediation: await store.remediationCounts(deps.db, id),
    ...(state && { workflow: state }),
  };
}

/** A stored spec that cannot be read is a fault of the server's, not of the request. */
function storedSpec(campaign: store.CampaignRecord): CampaignSpec {
  const parsed = CampaignSpecSchema.safeParse(campaign.spec);
  if (!parsed.success) throw new Error(`the stored spec of campaign ${campaign.id} cannot be read`);
  return parsed.data;
}
