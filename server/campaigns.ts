import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { campaignWorkflowId, reviewerWorkflowId } from '../domain/campaign';
import type { CampaignState, Decision } from '../domain/campaign';
import { specFrom } from '../domain/campaign-spec';
import * as store from '../store/campaigns';
import {
  confirmRevocationsUpdate,
  decideItemsUpdate,
  declineRevocationsUpdate,
  delegateItemsUpdate,
} from '../workflows/campaign/definitions';
import { campaignEvidence } from './campaign-evidence';
import {
  batchesOf,
  itemRefusal,
  reasonRefusal,
  refuseBadItemList,
  sendInTurn,
  whenReady,
} from './campaign-decisions';
import {
  auditAdminAction,
  campaignPhase,
  campaignStatus,
  cancelCampaign,
  holdAnswerAction,
  refuseUnknownNames,
  remediateCampaign,
  startCampaign,
} from './campaign-admin';
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

  /** Records the campaign and starts its workflow; an id already taken is refused. */
  async start(
    actor: string,
    body: unknown,
    definitionId?: string,
  ): Promise<{ id: string; workflowId: string }> {
    this.requireAdmin(actor);
    const input = NewCampaign.parse(body);
    const spec = specFrom(input);
    refuseUnknownNames(this.deps.policy(), spec);
    return startCampaign(this.deps, actor, input.id ?? newCampaignId(), spec, definitionId);
  }

  async list(actor: string) {
    this.requireAdmin(actor);
    return store.listCampaigns(this.deps.db);
  }

  /** Progress per reviewer from the items' record, and the phase from the workflow itself. */
  async status(actor: string, id: string) {
    this.requireAdmin(actor);
    return campaignStatus(this.deps, await this.campaign(id));
  }

  /**
   * A page of the items `actor` reviews in a campaign (their own, delegated or escalated to them,
   * never their own access), and how many there are in all.
   */
  async itemsFor(actor: string, id: string, page: store.ActorItemsPage) {
    const campaign = await this.campaign(id);
    const [items, counts] = await Promise.all([
      store.itemsForActor(this.deps.db, id, actor, page),
      store.actorCounts(this.deps.db, id, actor, page.filter),
    ]);
    return { campaign, items, counts };
  }

  /**
   * Sends decisions to the reviewer workflows that hold the items, one update per reviewer, so a
   * bulk decision costs one history entry per reviewer, not one per item. Every item is checked
   * against the record first: a request with one item that is not the actor's changes nothing, and
   * one after the deadline is refused with the deadline named, and a revocation must say why,
   * before Temporal is asked.
   */
  async decide(
    actor: string,
    id: string,
    decisions: DecisionRequest[],
    channel: string,
  ): Promise<{ decided: number }> {
    const campaign = await this.campaign(id);
    this.refuseIfClosed(campaign);
    const seqs = decisions.map((d) => d.seq);
    refuseBadItemList(seqs);
    for (const { seq, decision, reason } of decisions) {
      const bad = reasonRefusal(decision, reason);
      if (bad) throw new HttpError(400, `item ${seq}: ${bad}`);
    }
    const rows = await store.itemsBySeq(this.deps.db, id, seqs);
    const batches = batchesOf(rows, seqs, this.itemCheck(campaign, actor));
    const bySeq = new Map(decisions.map((d) => [d.seq, d]));
    await sendInTurn(
      batches,
      (reviewer, mine) =>
        this.update(id, reviewer, (handle) =>
          handle.executeUpdate(decideItemsUpdate, {
            args: [{ actor, decisions: mine.map((seq) => bySeq.get(seq)!), channel }],
          }),
        ),
      (err) => this.refusal(err, campaign),
      'recorded',
    );
    return { decided: decisions.length };
  }

  /** Hands items to another person; checked as decisions are, and sent the same way. */
  async delegate(
    actor: string,
    id: string,
    seqs: number[],
    to: string,
  ): Promise<{ delegated: number }> {
    const campaign = await this.campaign(id);
    this.refuseIfClosed(campaign);
    refuseBadItemList(seqs);
    // Workflows do not hold the policy; whether the delegate exists is checked here.
    const delegate = this.deps.policy().identity(to);
    if (!delegate) throw new HttpError(400, `no identity ${to} in the policy`);
    if (delegate.kind !== 'human')
      throw new HttpError(400, `${to} is not a person; only people review access`);
    if (to === actor) throw new HttpError(400, 'delegate to somebody else');
    const rows = await store.itemsBySeq(this.deps.db, id, seqs);
    const check = this.itemCheck(campaign, actor);
    const batches = batchesOf(rows, seqs, (row, seq) => {
      const refused = check(row, seq);
      if (refused || row?.identity !== to) return refused;
      return new HttpError(403, `${to} may not review their own access (item ${seq})`);
    });
    await sendInTurn(
      batches,
      (reviewer, mine) =>
        this.update(id, reviewer, (handle) =>
          handle.executeUpdate(delegateItemsUpdate, { args: [{ actor, seqs: mine, to }] }),
        ),
      (err) => this.refusal(err, campaign),
      'delegated',
    );
    return { delegated: seqs.length };
  }

  /** Items are written as the campaign launches; until then none of them can be found. */
  private itemCheck(campaign: store.CampaignRecord, actor: string) {
    return (row: store.ReviewItemRow | undefined, seq: number) =>
      !row && campaign.status === 'LAUNCHING'
        ? new HttpError(409, `campaign ${campaign.id} is still launching; try again in a moment`)
        : itemRefusal(row, seq, actor, campaign.id);
  }

  private update<T>(
    id: string,
    reviewer: string,
    send: (handle: WorkflowHandle) => Promise<T>,
  ): Promise<T> {
    const handle = this.deps.temporal.workflow.getHandle(reviewerWorkflowId(id, reviewer));
    return whenReady(() => send(handle));
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
    // The workflow's own phase, which is ahead of the record it writes.
    const phase = await campaignPhase(this.deps, campaign);
    if (phase !== 'AWAITING_CONFIRMATION') {
      throw new HttpError(
        409,
        `campaign ${id} is not waiting for a confirmation (${phase.toLowerCase()})`,
      );
    }
    let state: CampaignState;
    try {
      state = await this.deps.temporal.workflow
        .getHandle(campaignWorkflowId(id))
        .executeUpdate(update, { args: [{ actor }] });
    } catch (err) {
      throw this.refusal(err, campaign);
    }
    await auditAdminAction(this.deps, actor, id, holdAnswerAction(state), {
      undecided: state.defaultRevocations,
    });
    return state;
  }

  /** Tries a completed campaign's failed revocations again, once the target is fixed. */
  async remediate(actor: string, id: string): Promise<{ workflowId: string; failed: number }> {
    this.requireAdmin(actor);
    return remediateCampaign(this.deps, actor, await this.campaign(id));
  }

  /** Stops the campaign and its reviewers; no default is applied and nothing is revoked. */
  async cancel(actor: string, id: string): Promise<{ cancelled: boolean }> {
    this.requireAdmin(actor);
    return cancelCampaign(this.deps, actor, await this.campaign(id));
  }

  /** Every item with its decision and remediation, and the campaign's audit events, for the evidence. */
  async export(actor: string, id: string) {
    this.requireAdmin(actor);
    const campaign = await this.campaign(id);
    const evidence = await campaignEvidence(this.deps.db, id);
    // After the evidence is read, so the export's own event is not in it but follows it.
    await auditAdminAction(this.deps, actor, id, 'exported', { items: evidence.items.length });
    return { campaign, ...evidence };
  }

  private refuseIfClosed(campaign: store.CampaignRecord): void {
    if (campaign.status === 'CANCELLED') {
      throw new HttpError(409, `campaign ${campaign.id} was cancelled`);
    }
    if (campaign.status === 'FAILED') {
      throw new HttpError(409, `campaign ${campaign.id} failed and takes no more decisions`);
    }
    if (campaign.deadlineAt && Date.parse(campaign.deadlineAt) <= Date.now()) {
      throw new HttpError(409, closedMessage(campaign));
    }
  }

  private refusal(err: unknown, campaign: store.CampaignRecord): unknown {
    // A reviewer workflow that ended has reached its deadline (or its reviewer decided everything).
    if (err instanceof WorkflowNotFoundError && campaign.status === 'LAUNCHING') {
      return new HttpError(
        409,
        `campaign ${campaign.id} is still launching; try again in a moment`,
      );
    }
    if (
      err instanceof Error &&
      /already completed|aborted by closing|not found/i.test(err.message)
    ) {
      const late = campaign.deadlineAt !== null && Date.parse(campaign.deadlineAt) <= Date.now();
      return new HttpError(409, late ? closedMessage(campaign) : 'those items are already decided');
    }
    return fromTemporal(err, campaign.id);
  }
}

const closedMessage = (campaign: store.CampaignRecord) =>
  `the deadline of campaign ${campaign.id} passed at ${campaign.deadlineAt}; decisions are no longer accepted`;
