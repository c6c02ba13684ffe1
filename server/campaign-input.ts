import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CAMPAIGN_MAX_MS, CampaignScopeSchema, DefaultDecision, durationText, ReviewerRule } from '../domain/policy';
import { SafeText } from './access';
import { HttpError } from './errors';

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A campaign id from a path or a link; refused without echoing it. */
export function campaignIdFrom(text: string | undefined): string {
  if (!text || !CAMPAIGN_ID.test(text)) throw new HttpError(400, 'that is not a campaign id');
  return text;
}

const Durations = z.union([
  z.array(durationText(CAMPAIGN_MAX_MS)),
  z.string().transform((s, ctx) => {
    const parts = s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const parsed = z.array(durationText(CAMPAIGN_MAX_MS)).safeParse(parts);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a list of durations such as 3d,1d` });
      return z.NEVER;
    }
    return parsed.data;
  }),
]);

/** A campaign as people start it: durations written as text (14d, 3d,1d). */
export const NewCampaign = z.strictObject({
  id: z.string().regex(CAMPAIGN_ID, 'must be 1-63 letters, digits, ".", "_" or "-"').optional(),
  name: SafeText.pipe(z.string().min(1).max(200)),
  scope: CampaignScopeSchema.prefault({}),
  reviewers: ReviewerRule.default('manager'),
  deadline: durationText(CAMPAIGN_MAX_MS),
  remind: Durations.default([]),
  escalateAfter: durationText(CAMPAIGN_MAX_MS).optional(),
  default: DefaultDecision.default('keep'),
  fallbackGroup: z.string().regex(CAMPAIGN_ID).optional(),
  massRevocationShare: z.number().min(0).max(1).optional(),
});
export type NewCampaign = z.input<typeof NewCampaign>;

export const newCampaignId = () => `c-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
