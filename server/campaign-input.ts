import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { campaignFields, campaignTimingText, checkCampaign, LeadTimes } from '../domain/policy';
import { HttpError } from './errors';

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A campaign id from a path or a link; refused without echoing it. */
export function campaignIdFrom(text: string | undefined): string {
  if (!text || !CAMPAIGN_ID.test(text)) throw new HttpError(400, 'that is not a campaign id');
  return text;
}

// The CLI passes --remind as it was typed, "3d,1d"; JSON clients may send the list.
const splitList = (value: unknown) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
    : value;

/** A campaign as people start it: the policy's fields, durations as text (14d, 3d,1d). */
export const NewCampaign = z
  .strictObject({
    id: z.string().regex(CAMPAIGN_ID, 'must be 1-63 letters, digits, ".", "_" or "-"').optional(),
    ...campaignFields,
    ...campaignTimingText,
    remind: z.preprocess(splitList, LeadTimes).default([]),
  })
  .superRefine(checkCampaign)
  .transform(({ name, ...rest }) => ({ ...rest, name: name.normalize('NFC') }));
export type NewCampaign = z.input<typeof NewCampaign>;

export const newCampaignId = () =>
  `c-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
