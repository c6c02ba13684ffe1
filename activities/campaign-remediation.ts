import { Context, log } from '@temporalio/activity';
import { WorkflowUpdateStage } from '@temporalio/client';
import type { RemediationCounts } from '../domain/campaign';
import { MAX_TEXT } from '../domain/text';
import { ConnectorError } from '../integrations/connectors/types';
import * as store from '../store/campaigns';
import { jitWorkflowId, revokeUpdate } from '../workflows/jit/definitions';
import { CAMPAIGN_ACTOR as ACTOR, campaignAudit } from './campaign-common';
import type { CampaignDeps } from './campaign-common';

/** Revoking on the targets what a campaign rejected, pass after pass, each result recorded. */
export function createCampaignRemediationActivities(deps: CampaignDeps) {
  const { db } = deps;
  const audit = campaignAudit(db);

  /**
   * Ends the JIT requests whose grants hold the membership through their own workflows, so each
   * records its revocation and frees its identity to ask again. One that has ended already is
   * closed in the record instead. Returns whether any workflow took the revocation.
   */
  async function endRequests(row: store.ReviewItemRow): Promise<boolean> {
    let taken = false;
    const reason = `campaign ${row.campaign_id}: revoked by ${row.decided_by}: ${row.reason ?? ''}`;
    for (const { workflowId, requestId } of await store.liveGrantRequests(db, row)) {
      try {
        await deps.workflows
          .getHandle(workflowId || jitWorkflowId(requestId))
          .startUpdate(revokeUpdate, {
            args: [{ actor: ACTOR, reason: reason.slice(0, MAX_TEXT) }],
            waitForStage: WorkflowUpdateStage.ACCEPTED,
          });
        taken = true;
      } catch (err) {
        log.info('A request a campaign revoked could not be ended; it is ending already', {
          requestId,
          error: String(err),
        });
      }
    }
    return taken;
  }

  /** Revokes one item's membership on its target, unless a newer approved grant holds it. */
  async function remediate(
    row: store.ReviewItemRow,
    launchedAt: Date,
  ): Promise<store.RemediationResult> {
    const newer = await store.newerGrant(db, row, launchedAt);
    if (newer) return { remediation: 'superseded', by: newer };
    try {
      const byRequests = await endRequests(row);
      // Revoked here too, at once: the request's own revocation may wait on its retries.
      await deps.connectors.get(row.system_id).ensureRevoked(row.role, row.login);
      if (!byRequests) await store.closeGrantRecords(db, row);
      return { remediation: 'revoked' };
    } catch (err) {
      const error =
        err instanceof ConnectorError ? err.message : `unexpected error: ${(err as Error).message}`;
      return { remediation: 'failed', error };
    }
  }

  return {
    /**
     * Applies up to `limit` revocations after `afterSeq` on the targets. Each result is recorded
     * per item, and a failure is kept with its message for the next pass and the evidence rather
     * than thrown. A membership granted again through an approved request after the campaign was
     * launched is left to that grant, which ends at its expiry.
     */
    async remediateBatch(input: { campaignId: string; afterSeq: number; limit: number }) {
      const campaign = await store.findCampaign(db, input.campaignId);
      const launchedAt = new Date(campaign?.launchedAt ?? 0);
      // Each item's result is audited, then recorded, before the next is tried. A batch cut short
      // by a crash resumes where it stopped: the item it was on is tried again (ensureRevoked makes
      // that harmless) and its audit event, keyed by the attempt, is not written twice.
      const rows = await store.pendingRevocations(
        db,
        input.campaignId,
        input.afterSeq,
        input.limit,
      );
      const results: ({ seq: number } & store.RemediationResult)[] = [];
      for (const row of rows) {
        Context.current().heartbeat(row.seq);
        const result = await remediate(row, launchedAt);
        const attempt = row.remediation_attempts + 1;
        await audit(
          `campaign/${input.campaignId}/remediated/${row.seq}/${attempt}`,
          input.campaignId,
          'campaign.remediated',
          ACTOR,
          {
            item: row.seq,
            identity: row.identity,
            entitlement: row.entitlement_id,
            attempt,
            ...result,
          },
        );
        await store.markRemediation(db, input.campaignId, row.seq, result);
        results.push({ seq: row.seq, ...result });
      }
      const count = (kind: string) => results.filter((r) => r.remediation === kind).length;
      return {
        revoked: count('revoked'),
        failed: count('failed'),
        superseded: count('superseded'),
        lastSeq: rows.length === input.limit ? rows[rows.length - 1].seq : undefined,
      };
    },

    /** The retry window and who hears of failures, as the policy says now. */
    async remediationSettings() {
      const { settings } = deps.policy().policy;
      return {
        retryMs: settings.campaignRemediationRetry,
        adminGroup: settings.adminGroup,
      };
    },

    /** The campaign's remediation as recorded; a run an admin asked for is audited under their name. */
    async finishRemediation(input: {
      campaignId: string;
      requestedBy?: string;
      startedAt: string;
      passes: number;
    }): Promise<RemediationCounts> {
      const counts = await store.remediationCounts(db, input.campaignId);
      const result = {
        revoked: counts.revoked ?? 0,
        failed: counts.failed ?? 0,
        superseded: counts.superseded ?? 0,
        kept: counts.kept ?? 0,
      };
      if (input.requestedBy) {
        await audit(
          `campaign/${input.campaignId}/remediation-rerun/${input.startedAt}`,
          input.campaignId,
          'campaign.remediation_rerun',
          input.requestedBy,
          { ...result, passes: input.passes },
        );
      }
      return result;
    },
  };
}

export type CampaignRemediationActivities = ReturnType<typeof createCampaignRemediationActivities>;
