import { z } from 'zod';
import { CAMPAIGN_MAX_MS, CampaignScopeSchema, DefaultDecision, ReviewerRule, Slug } from './policy';
import type { CampaignDefinition } from './policy';

/** A campaign as it is started: every duration already in milliseconds. */
export const CampaignSpecSchema = z.strictObject({
  name: z.string().min(1).max(200),
  scope: CampaignScopeSchema.prefault({}),
  reviewers: ReviewerRule.default('manager'),
  deadlineMs: z.number().int().min(1_000).max(CAMPAIGN_MAX_MS),
  /** Lead times before the deadline at which reviewers with pending items are reminded. */
  remindMs: z.array(z.number().int().min(1_000).max(CAMPAIGN_MAX_MS)).max(10).default([]),
  /** After this long from launch, pending items also go to the reviewer's manager or the fallback group. */
  escalateAfterMs: z.number().int().min(1_000).max(CAMPAIGN_MAX_MS).optional(),
  default: DefaultDecision.default('keep'),
  fallbackGroup: Slug.optional(),
  massRevocationShare: z.number().min(0).max(1).optional(),
});
export type CampaignSpec = z.infer<typeof CampaignSpecSchema>;
export type CampaignSpecInput = z.input<typeof CampaignSpecSchema>;

/** The campaign a policy definition describes, as the schedule starts it. */
export function specFromDefinition(definition: CampaignDefinition, name = definition.name): CampaignSpec {
  return CampaignSpecSchema.parse({
    name,
    scope: definition.scope,
    reviewers: definition.reviewers,
    deadlineMs: definition.deadline,
    remindMs: definition.remind,
    escalateAfterMs: definition.escalateAfter,
    default: definition.default,
  });
}
