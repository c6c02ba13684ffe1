import { z } from 'zod';
import { campaignFields, campaignTimingMs } from './campaign-fields';
import type { CampaignText } from './campaign-fields';
import type { CampaignDefinition } from './policy';

/**
 * A campaign as it is stored and started: every duration already in milliseconds. Stored specs
 * are read as they were written, so the rules for making a campaign (checkCampaign) are applied
 * to the API's input and the policy's definitions, not here.
 */
export const CampaignSpecSchema = z.strictObject({ ...campaignFields, ...campaignTimingMs });
export type CampaignSpec = z.infer<typeof CampaignSpecSchema>;
export type CampaignSpecInput = z.input<typeof CampaignSpecSchema>;

/** The settings a campaign is made from, whether an admin or the policy describes it. */
export type CampaignSettings = CampaignText &
  Pick<CampaignSpec, 'scope' | 'reviewers' | 'default' | 'fallbackGroup' | 'massRevocationShare'>;

/** The spec of a campaign made from the API's input or a policy definition. */
export function specFrom(settings: CampaignSettings, name = settings.name): CampaignSpec {
  return CampaignSpecSchema.parse({
    name,
    scope: settings.scope,
    reviewers: settings.reviewers,
    deadlineMs: settings.deadline,
    remindMs: settings.remind,
    escalateAfterMs: settings.escalateAfter,
    default: settings.default,
    fallbackGroup: settings.fallbackGroup,
    massRevocationShare: settings.massRevocationShare,
  });
}

/** The campaign a policy definition describes, as the schedule starts it. */
export function specFromDefinition(
  definition: CampaignDefinition,
  name = definition.name,
): CampaignSpec {
  return specFrom(definition, name);
}
