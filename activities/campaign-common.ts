import { ApplicationFailure } from '@temporalio/activity';
import type { WorkflowClient } from '@temporalio/client';
import type { PolicyView } from '../domain/access';
import { CampaignSpecSchema } from '../domain/campaign-spec';
import type { CampaignSpec } from '../domain/campaign-spec';
import { FailureType } from '../domain/failures';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import * as store from '../store/campaigns';
import type { Db } from '../store/db';

// What the campaign activities share: their dependencies, their audit events, a campaign's spec.

export interface CampaignDeps {
  db: Db;
  connectors: Pick<ConnectorRegistry, 'get'>;
  policy: () => PolicyView;
  /** Stops the reviewer workflows of a campaign that was cancelled or failed. */
  workflows: Pick<WorkflowClient, 'getHandle'>;
}

export { CAMPAIGN_ACTOR } from '../domain/campaign';

/** A campaign's audit events as the activities append them, keyed so a retry appends nothing. */
export const campaignAudit =
  (db: Db) =>
  (
    key: string,
    campaignId: string,
    action: string,
    actor: string,
    details: Record<string, unknown>,
  ) =>
    store.appendCampaignEvent(db, { key, campaignId, action, actor, details });

export async function campaignSpec(db: Db, campaignId: string): Promise<CampaignSpec> {
  const campaign = await store.findCampaign(db, campaignId);
  if (!campaign) {
    throw ApplicationFailure.nonRetryable(
      `campaign ${campaignId} does not exist`,
      FailureType.InvalidInput,
    );
  }
  return CampaignSpecSchema.parse(campaign.spec);
}

/** Reviews what nobody else can: the campaign's own group, the policy's, else the admins. */
export const fallbackGroupOf = (view: PolicyView, spec: CampaignSpec) =>
  spec.fallbackGroup ??
  view.policy.settings.campaignFallbackGroup ??
  view.policy.settings.adminGroup;
