import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { Severity } from '../domain/incident';
import type { IncidentState } from '../domain/incident';
import { incidentReport } from '../domain/incident-report';
import { mayOpenIncident, planIncident } from '../domain/incident-plan';
import { appendAuditEvent } from '../store/audit';
import { findIncident, listIncidents, releaseIncident, reserveIncident } from '../store/incidents';
import {
  approveRestoreUpdate,
  closeIncidentUpdate,
  incidentStatusQuery,
  incidentWorkflowId,
  retryIncidentUpdate,
} from '../workflows/incident/definitions';
import type { incidentWorkflow } from '../workflows/incident/workflow';
import { SafeText } from './access';
import type { Deps } from './app';
import { fromTemporal, HttpError } from './errors';
import { refuseIfQuarantined } from './quarantine';

export const NewIncident = z.strictObject({
  identity: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'is not an identity id'),
  reason: SafeText.pipe(z.string().min(1, 'an incident needs a reason')),
  severity: z.enum(Severity).default('high'),
});

export interface Opened {
  id: string;
  identity: string;
  /**
   * True when the identity already had an open incident, which this report joined. An incident
   * being closed or restored is not open: a report then opens a new one, which contains again.
   */
  joined: boolean;
  /** Set when the policy leaves too few people to approve a restore: containment goes ahead all the same. */
  warning?: string;
}

/** What the API, the CLI and the detection webhook do to incidents; refusals are HttpErrors. */
export class IncidentService {
  constructor(private readonly deps: Deps) {}

  /** Opens an incident, or joins the identity's open one; `who` is checked unless a signed webhook reported it. */
  async open(who: string, body: unknown, options: { signed?: boolean } = {}): Promise<Opened> {
    // Taken first: the time to revoke is measured from the moment the report arrived.
    const reportedAt = new Date().toISOString();
    const policy = this.deps.policy();
    if (!options.signed && !mayOpenIncident(policy, who)) {
      const group = policy.policy.settings.incidentGroup;
      throw new HttpError(403, `${who} may not open incidents: admins and members of ${group} may`);
    }
    const parsed = NewIncident.parse(body);
    const plan = planIncident(policy, parsed.identity);
    if (!plan) throw new HttpError(404, `no identity ${parsed.identity} in the policy`);
    // Containment never waits on the policy: an identity nobody could restore is contained all
    // the same, and the people who opened it hear that it can only be closed as things stand.
    const { approvers, incidentGroup, required } = plan.rules;
    const warning =
      approvers.length < required
        ? `nobody can restore ${parsed.identity}: restoring needs ${required} members of ${incidentGroup} ` +
          `other than ${parsed.identity} and its owner, and it has ${approvers.length}`
        : undefined;
    // The row comes before the workflow: the database's one-open-incident rule decides, however
    // close together two reports arrive, and the quarantine holds from this moment.
    const id = randomUUID();
    const reserved = await reserveIncident(this.deps.db, {
      id,
      identity: parsed.identity,
      severity: parsed.severity,
      reason: parsed.reason,
      reportedBy: who,
      reportedAt,
      workflowId: incidentWorkflowId(id),
    });
    // A report joining an open incident starts no second containment, but is on record.
    if (reserved.joined) {
      await appendAuditEvent(this.deps.db, {
        key: `incident.joined/${randomUUID()}`,
        actor: who,
        action: 'incident.joined',
        subject: parsed.identity,
        workflowId: reserved.workflowId,
        details: { incidentId: reserved.id, severity: parsed.severity, reason: parsed.reason },
      });
      return {
        id: reserved.id,
        identity: parsed.identity,
        joined: true,
        ...(warning && { warning }),
      };
    }
    try {
      await this.deps.temporal.workflow.start<typeof incidentWorkflow>('incidentWorkflow', {
        workflowId: incidentWorkflowId(id),
        taskQueue: this.deps.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ incidentId: id, ...parsed, reportedBy: who, reportedAt, plan }],
      });
    } catch (err) {
      // Without its workflow the row would quarantine the identity with nothing to restore it.
      await releaseIncident(this.deps.db, id);
      throw err;
    }
    if (warning) {
      await appendAuditEvent(this.deps.db, {
        key: `incident.unrestorable/${id}`,
        actor: who,
        action: 'incident.unrestorable',
        subject: parsed.identity,
        workflowId: incidentWorkflowId(id),
        details: { incidentId: id, warning },
      });
    }
    return { id, identity: parsed.identity, joined: false, ...(warning && { warning }) };
  }

  /** Admins, the incident group and the identity's owner may read an incident. */
  private async visible(who: string, id: string): Promise<{ identity: string }> {
    const row = await findIncident(this.deps.db, id);
    if (!row) throw new HttpError(404, `no incident ${id}`);
    const policy = this.deps.policy();
    const owner = policy.identity(row.identity)?.owner;
    if (!mayOpenIncident(policy, who) && owner !== who) {
      throw new HttpError(
        403,
        `${who} may not see incident ${id}: admins, ${policy.policy.settings.incidentGroup} and its owner may`,
      );
    }
    return row;
  }

  /** The workflow's state; once its history is gone, the last state keyward stored. */
  async status(who: string, id: string): Promise<IncidentState> {
    await this.visible(who, id);
    try {
      return await this.deps.temporal.workflow
        .getHandle(incidentWorkflowId(id))
        .query(incidentStatusQuery);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const stored = (await findIncident(this.deps.db, id))!.state as unknown as IncidentState;
      if (!stored.incidentId) throw new HttpError(404, `no incident ${id}`);
      return stored;
    }
  }

  async list(who: string) {
    if (!mayOpenIncident(this.deps.policy(), who)) {
      throw new HttpError(
        403,
        `${who} may not list incidents: admins and ${this.deps.policy().policy.settings.incidentGroup} may`,
      );
    }
    return listIncidents(this.deps.db);
  }

  /** Records one restore approval; the one that completes the quorum answers RESTORING, not once access is back. */
  async approveRestore(who: string, id: string, reason?: string): Promise<IncidentState> {
    const policy = this.deps.policy();
    const group = policy.policy.settings.incidentGroup;
    if (!policy.members(group).includes(who)) {
      throw new HttpError(403, `${who} may not approve restores: members of ${group} may`);
    }
    return this.update(who, id, approveRestoreUpdate, reason);
  }

  /** Records the close; the incident reads CLOSING until its containment has finished. */
  close(who: string, id: string, reason?: string): Promise<IncidentState> {
    this.mayDecide(who, 'close');
    return this.update(who, id, closeIncidentUpdate, reason);
  }

  /** Tries the systems that failed, in containment or restore, again. */
  retry(who: string, id: string, reason?: string): Promise<IncidentState> {
    this.mayDecide(who, 'retry');
    return this.update(who, id, retryIncidentUpdate, reason);
  }

  // Asked before the incident is looked up, so that nobody learns which incident ids exist.
  private mayDecide(who: string, what: string): void {
    if (!mayOpenIncident(this.deps.policy(), who)) {
      const group = this.deps.policy().policy.settings.incidentGroup;
      throw new HttpError(403, `${who} may not ${what} incidents: admins and ${group} may`);
    }
  }

  private async update(
    who: string,
    id: string,
    update: typeof approveRestoreUpdate,
    reason: string | undefined,
  ): Promise<IncidentState> {
    await refuseIfQuarantined(this.deps.db, who);
    if (!(await findIncident(this.deps.db, id))) throw new HttpError(404, `no incident ${id}`);
    // Refusals come back from the workflow's validators with the rule's own message.
    return this.deps.temporal.workflow
      .getHandle(incidentWorkflowId(id))
      .executeUpdate(update, { args: [{ actor: who, reason }] })
      .catch((err: unknown) => Promise.reject(fromTemporal(err, id, 'incident')));
  }

  /** The timeline, what was removed where, the times to revoke, and who approved what. */
  async report(who: string, id: string) {
    return incidentReport(await this.status(who, id));
  }
}
