import { z } from 'zod';
import {
  campaignFields,
  campaignTimingText,
  CAMPAIGN_MAX_MS,
  checkCampaign,
  checkRecurrence,
} from './campaign-fields';
import { CronText } from './policy-credentials';
import { durationText, Slug } from './policy-fields';

// The campaigns section of the policy file: certification campaigns that can recur.

/** What each run adds to a definition's name: " (2026-01-01)", the day it was due. */
const RUN_DATE_LENGTH = 13;

/** A campaign the policy defines; with `every` or `cron` a Temporal Schedule starts it again and again. */
export const CampaignDefinitionSchema = z
  .strictObject({
    id: Slug,
    ...campaignFields,
    name: campaignFields.name.max(
      200 - RUN_DATE_LENGTH,
      `must be at most ${200 - RUN_DATE_LENGTH} characters, to leave room for the date each run adds`,
    ),
    ...campaignTimingText,
    every: durationText(CAMPAIGN_MAX_MS).optional(),
    cron: CronText.optional(),
  })
  .superRefine((definition, ctx) => {
    checkCampaign(definition, ctx);
    checkRecurrence(definition, ctx);
  });

export type CampaignDefinition = z.infer<typeof CampaignDefinitionSchema>;
