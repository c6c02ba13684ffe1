import { Context } from '@temporalio/activity';
import type { RemediationCounts } from '../domain/campaign';
import { ConnectorError } from '../integrations/connectors/types';
import * as store from '../store/campaigns';
import { CAMPAIGN_ACTOR as ACTOR, campaignAudit } from './campaign-common';
import type { CampaignDeps } from './campaign-common';
import { endRequest } from './jit-requests';

/** Revoking on the targets what a campaign rejected, pass after pass, each result recorded. */
export function createCampaignRemediationActivities(deps: CampaignDeps) {
  const { db } = deps;
  const audit = campaignAudit(db);

  /**
   * Revokes one item's membership on its target. The JIT requests whose live grants hold it end
   * through their own workflows, which record the revocation; a grant approved after the launch
   * is left to end at its expiry, as somebody approved it after the review.
   */
  async function remediate(
    row: store.ReviewItemRow,
    launchedAt: Date,
  ): Promise<store.RemediationResult> {
    const grants = await store.liveGrantsOf(db, row);
    const newer = grants.find((grant) => grant.grantedAt > launchedAt);
    if (newer) return { remediation: 'superseded', by: newer.id };
    try {
      const revoke = {
        actor: ACTOR,
        reason: `campaign ${row.campaign_id}: revoked by ${row.decided_by}: ${row.reason ?? ''}`,
      };
      let ended = false;
      for (const grant of grants)
        ended = (await endRequest(deps.workflows, grant, revoke)) || ended;
      // Revoked here too, at once: the request's own revocation may wait on its retries.
      await deps.connectors.get(row.system_id).ensureRevoked(row.role, row.login);
      if (!ended) await store.closeGrantRecords(db, row);
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
