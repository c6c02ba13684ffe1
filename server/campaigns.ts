import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { FailureType } from '../domain/failures';
import { campaignWorkflowId, remediationWorkflowId, reviewerWorkflowId } from '../domain/campaign';
import type { CampaignState, Decision, ItemDecision } from '../domain/campaign';
import { CampaignSpecSchema } from '../domain/campaign-spec';
import type { CampaignSpec } from '../domain/campaign-spec';
import { listAuditEvents } from '../store/audit';
import * as store from '../store/campaigns';
import {
  campaignStatusQuery,
  confirmRevocationsUpdate,
  decideItemsUpdate,
  declineRevocationsUpdate,
} from '../workflows/campaign/definitions';
import type { campaignRemediationWorkflow } from '../workflows/campaign/remediation';
import { delegateItemsUpdate } from '../workflows/campaign/definitions';
import type { campaignWorkflow } from '../workflows/campaign/workflow';
import { NewCampaign, newCampaignId } from './campaign-input';
import type { Deps } from './app';
import { fromTemporal, HttpError } from './errors';

export { campaignIdFrom, NewCampaign, newCampaignId } from './campaign-input';

export interface DecisionRequest {
  seq: number;
  decision: Decision;
  reason?: string;
}

/** What every channel (REST, CLI, Slack, the review page) does to campaigns, in one place. */
export class CampaignService {
  constructor(private readonly deps: Deps) {}

  private requireAdmin(actor: string): void {
    if (!this.deps.policy().isAdmin(actor)) throw new HttpError(403, `${actor} is not an admin`);
  }

  private async campaign(id: string): Promise<store.CampaignRecord> {
    const found = await store.findCampaign(this.deps.db, id);
    if (!found) throw new HttpError(404, `no campaign ${id}`);
    return found;
  }

  /** Records the campaign and starts its workflow; a repeat with the same id starts nothing new. */
  async start(actor: string, body: unknown, definitionId?: string): Promise<{ id: string; workflowId: string }> {
    this.requireAdmin(actor);
    const input = NewCampaign.parse(body);
    const spec: CampaignSpec = CampaignSpecSchema.parse({
      name: input.name,
      scope: input.scope,
      reviewers: input.reviewers,
      deadlineMs: input.deadline,
      remindMs: input.remind,
      escalateAfterMs: input.escalateAfter,
      default: input.default,
      fallbackGroup: input.fallbackGroup,
      massRevocationShare: input.massRevocationShare,
    });
    const group = spec.reviewers.startsWith('group:') ? spec.reviewers.slice(6) : undefined;
    for (const g of [group, spec.fallbackGroup]) {
      if (g && this.deps.policy().members(g).length === 0) throw new HttpError(400, `no group ${g} in the policy`);
    }
    // The row comes first: the workflow's first activity reads the campaign's settings from it.
    const id = input.id ?? newCampaignId();
    // A campaign's id names its evidence: starting it again would review and revoke over it.
    const existing = await store.findCampaign(this.deps.db, id);
    if (existing) throw new HttpError(409, `campaign ${id} already exists (${existing.status.toLowerCase()})`);
    await store.createCampaign(this.deps.db, { id, name: spec.name, spec, createdBy: actor, definitionId });
    const workflowId = campaignWorkflowId(id);
    try {
      await this.deps.temporal.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
        workflowId,
        taskQueue: this.deps.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ campaignId: id }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { id, workflowId };
  }

  async list(actor: string) {
    this.requireAdmin(actor);
    return store.listCampaigns(this.deps.db);
  }

  /** Progress per reviewer from the items' record, and the phase from the workflow itself. */
  async status(actor: string, id: string) {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    // A finished campaign still answers queries; one Temporal no longer holds falls back to the record.
    let state: CampaignState | undefined;
    try {
      state = await this.deps.temporal.workflow.getHandle(campaignWorkflowId(id)).query(campaignStatusQuery);
    } catch {
      state = undefined;
    }
    const reviewers = await store.progressByReviewer(this.deps.db, id);
    const spec = CampaignSpecSchema.parse(campaign.spec);
    const overdueAfter = campaign.launchedAt
      ? Date.parse(campaign.launchedAt) + (spec.escalateAfterMs ?? spec.deadlineMs)
      : Infinity;
    const overdue = Date.now() > overdueAfter;
    const totals = reviewers.reduce(
      (sum, r) => ({ items: sum.items + r.total, decided: sum.decided + r.decided, pending: sum.pending + r.pending }),
      { items: 0, decided: 0, pending: 0 },
    );
    return {
      campaign: { ...campaign, spec },
      phase: state?.phase ?? campaign.status,
      totals,
      reviewers: reviewers.map((r) => ({ ...r, overdue: overdue ? r.pending : 0 })),
      remediation: await store.remediationCounts(this.deps.db, id),
      ...(state && { workflow: state }),
    };
  }

  /** The items `actor` reviews in a campaign: their own, delegated to them, or escalated to them. */
  async itemsFor(actor: string, id: string) {
    const campaign = await this.campaign(id);
    const items = await store.itemsForActor(this.deps.db, id, actor);
    return { campaign, items: items.filter((item) => item.identity !== actor) };
  }

  /**
   * Sends decisions to the reviewer workflows that hold the items. A decision after the deadline
   * is refused here with the deadline named, before Temporal is asked.
   */
  async decide(actor: string, id: string, decisions: DecisionRequest[], channel: string): Promise<{ decided: number }> {
    const campaign = await this.campaign(id);
    this.refuseIfClosed(campaign);
    // Items are grouped by the reviewer workflow that holds them; each group is one update, so a
    // bulk decision costs one history entry per reviewer, not one per item.
    const rows = await store.itemsBySeq(
      this.deps.db,
      id,
      decisions.map((d) => d.seq),
    );
    const byReviewer = new Map<string, ItemDecision[]>();
    for (const decision of decisions) {
      const row = rows.find((r) => r.seq === decision.seq);
      if (!row) throw new HttpError(404, `no item ${decision.seq} in campaign ${id}`);
      byReviewer.set(row.reviewer, [...(byReviewer.get(row.reviewer) ?? []), decision]);
    }
    for (const [reviewer, batch] of byReviewer) {
      const handle = this.deps.temporal.workflow.getHandle(reviewerWorkflowId(id, reviewer));
      try {
        await whenReady(() =>
          handle.executeUpdate(decideItemsUpdate, { args: [{ actor, decisions: batch, channel }] }),
        );
      } catch (err) {
        throw this.refusal(err, campaign);
      }
    }
    return { decided: decisions.length };
  }

  async delegate(actor: string, id: string, seqs: number[], to: string): Promise<{ delegated: number }> {
    const campaign = await this.campaign(id);
    this.refuseIfClosed(campaign);
    // Workflows do not hold the policy; whether the delegate exists is checked here, the rest there.
    const delegate = this.deps.policy().identity(to);
    if (!delegate) throw new HttpError(400, `no identity ${to} in the policy`);
    if (delegate.kind !== 'human') throw new HttpError(400, `${to} is not a person; only people review access`);
    const rows = await store.itemsBySeq(this.deps.db, id, seqs);
    const reviewers = new Set(rows.map((row) => row.reviewer));
    if (rows.length !== seqs.length) throw new HttpError(404, `some of those items are not in campaign ${id}`);
    for (const reviewer of reviewers) {
      const mine = rows.filter((row) => row.reviewer === reviewer).map((row) => row.seq);
      const handle = this.deps.temporal.workflow.getHandle(reviewerWorkflowId(id, reviewer));
      try {
        await whenReady(() => handle.executeUpdate(delegateItemsUpdate, { args: [{ actor, seqs: mine, to }] }));
      } catch (err) {
        throw this.refusal(err, campaign);
      }
    }
    return { delegated: seqs.length };
  }

  /** Lets a mass revocation by default go ahead. */
  confirm(actor: string, id: string): Promise<CampaignState> {
    return this.answerHold(actor, id, confirmRevocationsUpdate);
  }

  /** Refuses a mass revocation by default: the items nobody decided are kept, with the admin named. */
  decline(actor: string, id: string): Promise<CampaignState> {
    return this.answerHold(actor, id, declineRevocationsUpdate);
  }

  private async answerHold(
    actor: string,
    id: string,
    update: typeof confirmRevocationsUpdate | typeof declineRevocationsUpdate,
  ): Promise<CampaignState> {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    if (campaign.status !== 'AWAITING_CONFIRMATION') {
      throw new HttpError(409, `campaign ${id} is not waiting for a confirmation (${campaign.status.toLowerCase()})`);
    }
    try {
      return await this.deps.temporal.workflow
        .getHandle(campaignWorkflowId(id))
        .executeUpdate(update, { args: [{ actor }] });
    } catch (err) {
      throw this.refusal(err, campaign);
    }
  }

  /**
   * Tries a finished campaign's failed revocations again, after whatever made the target refuse
   * them was fixed. Only one remediation of a campaign runs at a time.
   */
  async remediate(actor: string, id: string): Promise<{ workflowId: string; failed: number }> {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    if (campaign.status !== 'COMPLETED') {
      throw new HttpError(
        409,
        `campaign ${id} has not completed (${campaign.status.toLowerCase()}); nothing to retry yet`,
      );
    }
    const failed = (await store.remediationCounts(this.deps.db, id)).failed ?? 0;
    if (failed === 0) throw new HttpError(409, `campaign ${id} has no failed revocations to retry`);
    const workflowId = remediationWorkflowId(id);
    try {
      await this.deps.temporal.workflow.start<typeof campaignRemediationWorkflow>('campaignRemediationWorkflow', {
        workflowId,
        taskQueue: this.deps.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: [{ campaignId: id, requestedBy: actor }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      throw new HttpError(409, `the revocations of campaign ${id} are already being retried`);
    }
    return { workflowId, failed };
  }

  /** Stops the campaign and its reviewers; no default is applied and nothing is revoked. */
  async cancel(actor: string, id: string): Promise<{ cancelled: boolean }> {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    if (['COMPLETED', 'CANCELLED', 'FAILED'].includes(campaign.status)) {
      throw new HttpError(409, `campaign ${id} has already ended (${campaign.status})`);
    }
    try {
      await this.deps.temporal.workflow.getHandle(campaignWorkflowId(id)).cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      throw new HttpError(409, `campaign ${id} has already ended`);
    }
    return { cancelled: true };
  }

  /** Every item with its decision and remediation, and the campaign's audit events, for the evidence. */
  async export(actor: string, id: string) {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    const items: store.ReviewItemRow[] = [];
    for (let after = 0; ;) {
      const page = await store.itemsPage(this.deps.db, id, after, 5_000);
      items.push(...page);
      if (page.length < 5_000) break;
      after = page[page.length - 1].seq;
    }
    // The audit log is the independent record: the export carries it so the two can be compared.
    const audit = await listAuditEvents(this.deps.db, { subject: `campaign/${id}`, limit: 100_000 });
    return {
      campaign,
      items: items.map((row) => ({
        item: row.seq,
        identity: row.identity,
        identityKind: row.identity_kind,
        entitlement: row.entitlement_id,
        system: row.system_id,
        role: row.role,
        login: row.login,
        riskTier: row.risk_tier,
        source: row.source,
        reviewer: row.reviewer,
        delegate: row.delegate,
        escalatedTo: row.escalated_to,
        decision: row.decision,
        reason: row.reason,
        decidedBy: row.decided_by,
        decidedAt: row.decided_at?.toISOString() ?? null,
        remediation: row.remediation,
        remediationError: row.remediation_error,
        remediatedAt: row.remediated_at?.toISOString() ?? null,
      })),
      audit,
    };
  }

  private refuseIfClosed(campaign: store.CampaignRecord): void {
    if (campaign.status === 'CANCELLED') throw new HttpError(409, `campaign ${campaign.id} was cancelled`);
    if (campaign.deadlineAt && Date.parse(campaign.deadlineAt) <= Date.now()) {
      throw new HttpError(409, closedMessage(campaign));
    }
  }

  private refusal(err: unknown, campaign: store.CampaignRecord): unknown {
    // A reviewer workflow that ended has reached its deadline (or its reviewer decided everything).
    if (err instanceof WorkflowNotFoundError && campaign.status === 'LAUNCHING') {
      return new HttpError(409, `campaign ${campaign.id} is still launching; try again in a moment`);
    }
    if (err instanceof Error && /already completed|aborted by closing|not found/i.test(err.message)) {
      const late = campaign.deadlineAt !== null && Date.parse(campaign.deadlineAt) <= Date.now();
      return new HttpError(409, late ? closedMessage(campaign) : 'those items are already decided');
    }
    return fromTemporal(err, campaign.id);
  }
}

/**
 * Sends an update again while the reviewer workflow says it is still loading its items, which lasts
 * a moment after the campaign starts; every other answer is returned as it came.
 */
async function whenReady<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const type = (err as { cause?: { type?: string } }).cause?.type;
      if (!(err instanceof WorkflowUpdateFailedError) || type !== FailureType.NotReady || attempt >= 30) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const closedMessage = (campaign: store.CampaignRecord) =>
  `the deadline of campaign ${campaign.id} passed at ${campaign.deadlineAt}; decisions are no longer accepted`;
