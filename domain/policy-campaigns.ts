import { z } from 'zod';
import { CronText } from './policy-credentials';
import { durationText, EntitlementId, RiskTier, Slug } from './policy-fields';

/** The campaigns section of the policy file: certification campaigns that can recur. */
/** The longest a campaign's deadline or reminder lead time may be. */
export const CAMPAIGN_MAX_MS = 366 * 86_400_000;

/** Which entitlements a campaign covers; an empty list means "any". */
export const CampaignScopeSchema = z.strictObject({
  systems: z.array(Slug).default([]),
  entitlements: z.array(EntitlementId).default([]),
  riskTiers: z.array(RiskTier).default([]),
  identityKinds: z.array(z.enum(['human', 'non-human'])).default([]),
});
export type CampaignScope = z.infer<typeof CampaignScopeSchema>;

/** Who reviews an item: the identity's manager, its owner (the manager for people), or a group. */
export const ReviewerRule = z
  .string()
  .regex(/^(manager|owner|group:[A-Za-z0-9][A-Za-z0-9._-]{0,62})$/, 'must be manager, owner or group:<id>');
export type ReviewerRule = z.infer<typeof ReviewerRule>;

export const DefaultDecision = z.enum(['keep', 'revoke']);
export type DefaultDecision = z.infer<typeof DefaultDecision>;

/** A campaign the policy defines; with `every` or `cron` a Temporal Schedule starts it again and again. */
export const CampaignDefinitionSchema = z.strictObject({
  id: Slug,
  name: z.string().min(1).max(200),
  scope: CampaignScopeSchema.prefault({}),
  reviewers: ReviewerRule.default('manager'),
  deadline: durationText(CAMPAIGN_MAX_MS),
  remind: z.array(durationText(CAMPAIGN_MAX_MS)).max(10).default([]).describe('lead times before the deadline'),
  escalateAfter: durationText(CAMPAIGN_MAX_MS).optional(),
  default: DefaultDecision.default('keep'),
  every: durationText(CAMPAIGN_MAX_MS).optional(),
  cron: CronText.optional(),
});

export type CampaignDefinition = z.infer<typeof CampaignDefinitionSchema>;
