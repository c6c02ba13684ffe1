import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { incidentReport, Severity } from '../domain/incident';
import type { IncidentState } from '../domain/incident';
import { mayOpenIncident, planIncident } from '../domain/incident-plan';
import { appendAuditEvent } from '../store/audit';
import { findIncident, listIncidents, releaseIncident, reserveIncident } from '../store/incidents';
import {
  approveRestoreUpdate,
  closeIncidentUpdate,
  incidentStatusQuery,
  incidentWorkflowId,
} from '../workflows/incident/definitions';
import type { incidentWorkflow } from '../workflows/incident/workflow';
import { SafeText } from './access';
import type { Deps } from './app';
import { fromTemporal, HttpError } from './errors';

export const NewIncident = z.strictObject({
  identity: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'is not an identity id'),
  reason: SafeText.pipe(z.string().min(1, 'an incident needs a reason')),
  severity: z.enum(Severity).default('high'),
});

export interface Opened {
  id: string;
  identity: string;
  /** True when the identity already had an open incident, which this report joined. */
  joined: boolean;
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
      return { id: reserved.id, identity: parsed.identity, joined: true };
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
    return { id, identity: parsed.identity, joined: false };
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
      return await this.deps.temporal.workflow.getHandle(incidentWorkflowId(id)).query(incidentStatusQuery);
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

  approveRestore(who: string, id: string, reason?: string): Promise<IncidentState> {
    return this.update(id, () =>
      this.deps.temporal.workflow
        .getHandle(incidentWorkflowId(id))
        .executeUpdate(approveRestoreUpdate, { args: [{ actor: who, reason }] }),
    );
  }

  close(who: string, id: string, reason?: string): Promise<IncidentState> {
    return this.update(id, () =>
      this.deps.temporal.workflow
        .getHandle(incidentWorkflowId(id))
        .executeUpdate(closeIncidentUpdate, { args: [{ actor: who, reason }] }),
    );
  }

  private async update(id: string, send: () => Promise<IncidentState>): Promise<IncidentState> {
    if (!(await findIncident(this.deps.db, id))) throw new HttpError(404, `no incident ${id}`);
    // Update refusals come back from the workflow's validators; they are mapped to HTTP statuses.
    return send().catch((err: unknown) => {
      const mapped = fromTemporal(err, id);
      if (mapped instanceof HttpError && mapped.statusCode === 409)
        throw new HttpError(409, `incident ${id} has ended`);
      throw mapped;
    });
  }

  /** The timeline, what was removed where, the times to revoke, and who approved what. */
  async report(who: string, id: string) {
    return incidentReport(await this.status(who, id));
  }
}
