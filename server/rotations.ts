import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { ScheduleDescription, ScheduleHandle } from '@temporalio/client';
import { overlapOf } from '../domain/policy';
import type { Credential } from '../domain/policy';
import { rotationScheduleId } from '../domain/rotation';
import { isOverdue, rotationDueAt } from '../domain/rotation-status';
import type { RotationSummary } from '../domain/rotation-status';
import { appendAuditEvent } from '../store/audit';
import { versionWithLabel } from '../store/credential-versions';
import { listCredentials } from '../store/credentials';
import type { CredentialRow } from '../store/credentials';
import { syncRotations } from '../workers/rotation-sync';
import type { ScheduleSyncResult } from '../integrations/temporal/schedules';
import { rotationStatusQuery } from '../workflows/rotation/definitions';
import type { Deps } from './app';
import { HttpError } from './errors';

/** How long a refusal waits to say what the running rotation is doing. */
const STEP_QUERY_MS = 2_000;

const CREDENTIAL_ID = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/** A credential id from a path; refused without echoing it, since paths can carry anything. */
export function credentialIdFrom(text: string | undefined): string {
  if (!text || !CREDENTIAL_ID.test(text)) {
    throw new HttpError(
      400,
      'the path does not name a credential (ids look like pg-demo/svc-reports)',
    );
  }
  return text;
}

export interface ScheduleChange {
  credentialId: string;
  paused: boolean;
  /** False when the schedule was already in the state asked for; nothing was done then. */
  changed: boolean;
  note: string | null;
}

type RunRef = { workflowId: string; firstExecutionRunId: string };
type Schedule = { handle: ScheduleHandle; described: ScheduleDescription };

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** What the API does to rotation schedules, with who may do it; refusals are HttpErrors. */
export class RotationService {
  constructor(private readonly deps: Deps) {}

  credential(id: string): Credential {
    const credential = this.deps.policy().credential(id);
    if (!credential) throw new HttpError(404, `no credential ${id} in the policy`);
    return credential;
  }

  private ownerOf(credential: Credential): string | undefined {
    return this.deps.policy().identity(credential.identity)?.owner;
  }

  private mayManage(who: string, credential: Credential): boolean {
    return this.deps.policy().isAdmin(who) || this.ownerOf(credential) === who;
  }

  /** The credential, if `who` is an admin or owns its identity. */
  private manageable(who: string, id: string, verb: string): Credential {
    const credential = this.credential(id);
    if (!this.mayManage(who, credential)) {
      const owner = this.ownerOf(credential) ?? 'the owner';
      const only = `only admins and ${owner}, who owns ${credential.identity}, may`;
      throw new HttpError(403, `${who} may not ${verb} ${id}: ${only}`);
    }
    return credential;
  }

  private async describe(id: string): Promise<Partial<Schedule> & Pick<Schedule, 'handle'>> {
    const handle = this.deps.temporal.schedule.getHandle(rotationScheduleId(id));
    try {
      return { handle, described: await handle.describe() };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return { handle };
      throw err;
    }
  }

  private async scheduleOf(id: string): Promise<Schedule> {
    const { handle, described } = await this.describe(id);
    if (!described) {
      throw new HttpError(
        409,
        `${id} has no rotation schedule yet; an admin makes it with keyward rotation sync`,
      );
    }
    return { handle, described };
  }

  private audit(actor: string, action: string, subject: string, details: Record<string, unknown>) {
    const key = `${action}/${randomUUID()}`;
    return appendAuditEvent(this.deps.db, { key, actor, action, subject, details });
  }

  /** Admins see every credential; anyone else those of identities they are or own. */
  async list(who: string, now = new Date()): Promise<RotationSummary[]> {
    const policy = this.deps.policy();
    const visible = policy.policy.credentials.filter(
      (c) => policy.isAdmin(who) || c.identity === who || this.ownerOf(c) === who,
    );
    const rows = new Map((await listCredentials(this.deps.db)).map((row) => [row.id, row]));
    return Promise.all(visible.map((c) => this.summary(c, rows.get(c.id), now)));
  }

  private async summary(c: Credential, row: CredentialRow | undefined, now: Date) {
    const [current, { described }] = await Promise.all([
      versionWithLabel(this.deps.db, c.id, 'current'),
      this.describe(c.id),
    ]);
    const last = row?.last_rotated_at ?? undefined;
    const dueAt = rotationDueAt(c, last, now);
    const summary: RotationSummary = {
      id: c.id,
      identity: c.identity,
      system: c.system,
      strategy: c.strategy,
      everyMs: c.every ?? null,
      cron: c.cron ?? null,
      overlapMs: overlapOf(c),
      lastRotatedAt: iso(last),
      lastStatus: row?.last_status ?? null,
      lastError: row?.last_error ?? null,
      currentVersion: current
        ? { id: current.id, login: current.login, promotedAt: iso(current.promoted_at) }
        : null,
      schedule: described
        ? {
            paused: described.state.paused,
            note: described.state.note || null,
            nextDueAt: iso(described.info.nextActionTimes[0]),
            running: (await this.runningRun(described)) !== undefined,
          }
        : null,
      dueAt: dueAt.toISOString(),
      overdue: isOverdue(dueAt, last, now),
    };
    return summary;
  }

  /**
   * Starts a rotation now. A paused schedule was paused for a reason, so it has to be resumed
   * first, on purpose; a run already going is reported rather than queued behind.
   */
  async rotate(who: string, id: string, reason?: string) {
    this.manageable(who, id, 'rotate');
    const { handle, described } = await this.scheduleOf(id);
    const running = await this.runningRun(described);
    if (running) {
      throw new HttpError(
        409,
        `a rotation of ${id} is already running${await this.stepOf(running)}`,
      );
    }
    if (described.state.paused) {
      const note = described.state.note ? ` (${described.state.note})` : '';
      throw new HttpError(409, `rotation of ${id} is paused${note}; resume it first`);
    }
    // SKIP: a run the schedule started since the check above wins, and this trigger is dropped.
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    await this.audit(who, 'credential.rotation_requested', id, reason ? { reason } : {});
    return { credentialId: id, requested: true as const };
  }

  /**
   * The schedule's run that is still going, if any. The run a schedule starts when it is created
   * is not among its running actions (the SDK starts it with ALLOW_ALL), so the latest run is
   * also asked directly.
   */
  private async runningRun(described: ScheduleDescription): Promise<RunRef | undefined> {
    const tracked = described.info.runningActions[0];
    if (tracked) return tracked.workflow;
    const latest = described.info.recentActions.at(-1)?.action.workflow;
    if (!latest) return undefined;
    const status = await this.deps.temporal.workflow
      .getHandle(latest.workflowId, latest.firstExecutionRunId)
      .describe()
      .then(
        (d) => d.status.name,
        () => undefined,
      );
    return status === 'RUNNING' ? latest : undefined;
  }

  /** " (<step>)" for a running rotation, or nothing when its workflow cannot say. */
  private async stepOf(run: RunRef): Promise<string> {
    const handle = this.deps.temporal.workflow.getHandle(run.workflowId, run.firstExecutionRunId);
    // A query waits for a worker to answer; with none polling, the refusal must not wait with it.
    const state = await this.deps.temporal.connection
      .withDeadline(Date.now() + STEP_QUERY_MS, () => handle.query(rotationStatusQuery))
      .catch(() => undefined);
    if (!state) return '';
    return state.retireAt ? ` (${state.step}, until ${state.retireAt})` : ` (${state.step})`;
  }

  pause(who: string, id: string, reason?: string): Promise<ScheduleChange> {
    return this.setPaused(who, id, true, reason);
  }

  resume(who: string, id: string, reason?: string): Promise<ScheduleChange> {
    return this.setPaused(who, id, false, reason);
  }

  private async setPaused(
    who: string,
    id: string,
    paused: boolean,
    reason?: string,
  ): Promise<ScheduleChange> {
    const verb = paused ? 'pause' : 'resume';
    this.manageable(who, id, `${verb} the rotation of`);
    const { handle, described } = await this.scheduleOf(id);
    // A repeat changes nothing, and keeps the note that says who paused it and why.
    if (described.state.paused === paused) {
      return { credentialId: id, paused, changed: false, note: described.state.note || null };
    }
    const note = `${verb}d by ${who}${reason ? `: ${reason}` : ''}`;
    await (paused ? handle.pause(note) : handle.unpause(note));
    await this.audit(who, `credential.rotation_${verb}d`, id, reason ? { reason } : {});
    return { credentialId: id, paused, changed: true, note };
  }

  async sync(who: string): Promise<ScheduleSyncResult> {
    if (!this.deps.policy().isAdmin(who)) {
      throw new HttpError(403, `${who} is not an admin; only admins sync the rotation schedules`);
    }
    const result = await syncRotations(
      this.deps.db,
      this.deps.temporal,
      this.deps.policy().policy.credentials,
      this.deps.taskQueue,
    );
    const counts = Object.entries(result).map(([what, ids]) => [what, ids.length]);
    await this.audit(who, 'credential.schedules_synced', 'rotation', Object.fromEntries(counts));
    return result;
  }
}
