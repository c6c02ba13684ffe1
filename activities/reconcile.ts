import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowClient } from '@temporalio/client';
import { log } from '@temporalio/activity';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { appendAuditEvent } from '../store/audit';
import type { Db } from '../store/db';
import { otherLiveGrant, recordRevocation } from '../store/grants';

export interface ReconcileDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  workflows: Pick<WorkflowClient, 'getHandle'>;
}

/** How long past its expiry a grant may stay before the sweep steps in for its workflow. */
const GRACE_MS = 2 * 60_000;

/**
 * A grant this far past its expiry whose workflow still runs means the workflow cannot make
 * progress (a worker failing its tasks, say). The sweep leaves it to its workflow but says so.
 */
const STUCK_MS = 15 * 60_000;

export interface Sweep {
  revoked: string[];
  abandoned: string[];
  failed: { requestId: string; error: string }[];
  /** Grants long past expiry whose workflow still runs: reported, left to the workflow. */
  stuck: string[];
}

interface Orphan {
  request_id: string;
  system_id: string;
  role: string;
  login: string;
  expires_at: Date;
  workflow_id: string;
}

/**
 * The safety net under the JIT workflows: a workflow that was terminated or reset runs no code,
 * so a grant it held would outlive its expiry. The sweep finds such grants and revokes them,
 * and closes requests whose workflow is gone.
 */
export function createReconcileActivities(deps: ReconcileDeps) {
  const { db } = deps;

  async function workflowRunning(workflowId: string): Promise<boolean> {
    try {
      const { status } = await deps.workflows.getHandle(workflowId).describe();
      return status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async function reportStuck(grant: Orphan, now: Date): Promise<void> {
    const overdueMs = now.getTime() - grant.expires_at.getTime();
    log.warn('Grant overdue while its workflow runs', { requestId: grant.request_id, overdueMs });
    await appendAuditEvent(db, {
      key: `sweep/${grant.request_id}/overdue`,
      actor: 'keyward',
      action: 'grant.overdue',
      subject: grant.request_id,
      workflowId: grant.workflow_id,
      details: {
        overdueMs,
        note: 'past its expiry while its workflow still runs; check the workers',
      },
    });
  }

  async function revokeOrphan(grant: Orphan): Promise<void> {
    const target = {
      requestId: grant.request_id,
      systemId: grant.system_id,
      role: grant.role,
      login: grant.login,
    };
    if (!(await otherLiveGrant(db, target))) {
      await deps.connectors.get(grant.system_id).ensureRevoked(grant.role, grant.login);
    }
    const latenessMs = Math.max(0, Date.now() - grant.expires_at.getTime());
    const revokedAt = new Date().toISOString();
    await recordRevocation(db, grant.request_id, {
      revokedAt,
      revokedBy: 'keyward',
      cause: 'orphaned',
      latenessMs,
    });
    await closeRequest(grant.request_id, grant.workflow_id, 'REVOKED', 'grant.revoked', {
      cause: 'orphaned',
      latenessMs,
    });
  }

  /** Closes a request whose workflow is gone, and says so in the audit log, once. */
  async function closeRequest(
    requestId: string,
    workflowId: string,
    status: 'REVOKED' | 'CANCELLED',
    action: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await db
      .updateTable('requests')
      .set({ status, updated_at: new Date() })
      .where('id', '=', requestId)
      .execute();
    await appendAuditEvent(db, {
      key: `sweep/${requestId}/${status.toLowerCase()}`,
      actor: 'keyward',
      action,
      subject: requestId,
      workflowId,
      details: { ...details, note: 'its workflow was no longer running' },
    });
  }

  return {
    async sweepOrphanedGrants(): Promise<Sweep> {
      const now = new Date();
      const overdue = await db
        .selectFrom('grants')
        .innerJoin('requests', 'requests.id', 'grants.request_id')
        .select([
          'grants.request_id',
          'grants.system_id',
          'grants.role',
          'grants.login',
          'grants.expires_at',
          'requests.workflow_id',
        ])
        .where('grants.revoked_at', 'is', null)
        .where('grants.expires_at', '<', new Date(now.getTime() - GRACE_MS))
        .execute();
      const revoked: string[] = [];
      const stuck: string[] = [];
      const failed: { requestId: string; error: string }[] = [];
      for (const grant of overdue) {
        // One grant that cannot be revoked (its system gone from the policy, say) must not keep
        // the sweep from the others: it is reported and tried again on the next run.
        try {
          if (await workflowRunning(grant.workflow_id)) {
            if (now.getTime() - grant.expires_at.getTime() > STUCK_MS) {
              await reportStuck(grant, now);
              stuck.push(grant.request_id);
            }
            continue;
          }
          await revokeOrphan(grant);
          revoked.push(grant.request_id);
        } catch (err) {
          failed.push({
            requestId: grant.request_id,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
      if (failed.length > 0)
        log.warn('Sweep could not revoke some grants', { failed: failed.map((f) => f.requestId) });

      const stale = await db
        .selectFrom('requests')
        .select(['id', 'workflow_id'])
        .where('status', '=', 'PENDING')
        .where('created_at', '<', new Date(now.getTime() - GRACE_MS))
        .execute();
      const abandoned: string[] = [];
      for (const request of stale) {
        if (await workflowRunning(request.workflow_id)) continue;
        await closeRequest(request.id, request.workflow_id, 'CANCELLED', 'request.cancelled');
        abandoned.push(request.id);
      }
      return { revoked, abandoned, failed, stuck };
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
