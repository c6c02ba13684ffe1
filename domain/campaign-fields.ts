import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { formatDuration } from './duration';
import { durationText, EntitlementId, RiskTier, Slug } from './policy-fields';
import { unsafeTextProblem } from './text';

// What every form of a campaign shares: a definition in the policy, a campaign an admin starts
// through the API or the CLI, and the spec stored with it. Each form is built from these fields,
// and every campaign people make passes the same rules, so the three cannot come to disagree.

/** The longest a campaign's deadline or reminder lead time may be. */
export const CAMPAIGN_MAX_MS = 366 * 86_400_000;
export const MAX_REMINDERS = 10;

/** Which entitlements a campaign covers; an empty list means "any". */
export const CampaignScopeSchema = z.strictObject({
  systems: z.array(Slug).default([]),
  entitlements: z.array(EntitlementId).default([]),
  riskTiers: z.array(RiskTier).default([]),
  identityKinds: z.array(z.enum(['human', 'non-human'])).default([]),
});
export type CampaignScope = z.infer<typeof CampaignScopeSchema>;

export interface ScopeProblem {
  path: (string | number)[];
  message: string;
}

/** Scope entries that name no system or entitlement of the policy: a typo would review nothing. */
export function scopeProblems(
  scope: { systems: string[]; entitlements: string[] },
  known: { systems: ReadonlySet<string>; entitlements: ReadonlySet<string> },
): ScopeProblem[] {
  const problems: ScopeProblem[] = [];
  scope.systems.forEach((id, i) => {
    if (!known.systems.has(id))
      problems.push({ path: ['scope', 'systems', i], message: `unknown system "${id}"` });
  });
  scope.entitlements.forEach((id, i) => {
    if (!known.entitlements.has(id)) {
      problems.push({ path: ['scope', 'entitlements', i], message: `unknown entitlement "${id}"` });
    }
  });
  return problems;
}

/** Who reviews an item: the identity's manager, its owner (the manager for people), or a group. */
export const ReviewerRule = z
  .string()
  .regex(
    /^(manager|owner|group:[A-Za-z0-9][A-Za-z0-9._-]{0,62})$/,
    'must be manager, owner or group:<id>',
  );
export type ReviewerRule = z.infer<typeof ReviewerRule>;

export const DefaultDecision = z.enum(['keep', 'revoke']);
export type DefaultDecision = z.infer<typeof DefaultDecision>;

/** The fields every form of a campaign has, with the same meaning and bounds. */
export const campaignFields = {
  name: z.string().min(1).max(200),
  scope: CampaignScopeSchema.prefault({}),
  reviewers: ReviewerRule.default('manager'),
  default: DefaultDecision.default('keep'),
  fallbackGroup: Slug.optional().describe(
    "reviews items nobody else may; the policy's campaignFallbackGroup if unset",
  ),
  massRevocationShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "a default revoking more than this share waits for an admin; the policy's setting if unset",
    ),
};

const campaignDuration = () => durationText(CAMPAIGN_MAX_MS);
export const LeadTimes = z.array(campaignDuration()).max(MAX_REMINDERS);

/** A campaign's timing as people write it: durations as text, milliseconds once read. */
export const campaignTimingText = {
  deadline: campaignDuration(),
  remind: LeadTimes.default([]).describe('lead times before the deadline'),
  escalateAfter: campaignDuration()
    .optional()
    .describe('a duration such as 7d, counted from the launch'),
};

const Ms = z.number().int().min(1_000).max(CAMPAIGN_MAX_MS);

/** The same timing as it is stored, in milliseconds. */
export const campaignTimingMs = {
  deadlineMs: Ms,
  /** Lead times before the deadline at which reviewers with pending items are reminded. */
  remindMs: z.array(Ms).max(MAX_REMINDERS).default([]),
  /** After this long from launch, pending items also go to the reviewer's manager or the fallback group. */
  escalateAfterMs: Ms.optional(),
};

/** A campaign as the API and the policy describe it, durations read. */
export interface CampaignText {
  name: string;
  deadline: number;
  remind: number[];
  escalateAfter?: number;
}

const issue = (ctx: z.RefinementCtx, path: (string | number)[], message: string) =>
  ctx.addIssue({ code: 'custom', path, message });

/**
 * The rules across fields that every campaign people make must pass. A field that is itself
 * wrong has its own issue already; the rules then skip what they cannot judge.
 */
export function checkCampaign(campaign: CampaignText, ctx: z.RefinementCtx): void {
  const unsafe = typeof campaign.name === 'string' ? unsafeTextProblem(campaign.name) : undefined;
  if (unsafe) issue(ctx, ['name'], unsafe);
  const { deadline, remind, escalateAfter } = campaign;
  if (typeof deadline !== 'number') return;
  const shown = formatDuration(deadline);
  const seen = new Map<number, number>();
  (Array.isArray(remind) ? remind : []).forEach((lead, index) => {
    if (typeof lead !== 'number') return;
    if (lead >= deadline) {
      issue(
        ctx,
        ['remind', index],
        `${formatDuration(lead)} must be shorter than the deadline (${shown})`,
      );
    }
    const first = seen.get(lead);
    if (first === undefined) seen.set(lead, index);
    else
      issue(
        ctx,
        ['remind', index],
        `${formatDuration(lead)} is already a reminder lead time (remind[${first}])`,
      );
  });
  if (typeof escalateAfter === 'number' && escalateAfter >= deadline) {
    const message = `${formatDuration(escalateAfter)} must be shorter than the deadline (${shown})`;
    issue(ctx, ['escalateAfter'], message);
  }
}

/** How many of a cron expression's coming fire times are compared to find its shortest gap. */
export const CRON_WINDOW = 50;

/** The shortest time between consecutive fire times of `cron` (UTC) among the next CRON_WINDOW. */
export function shortestCronGapMs(cron: string, from = new Date()): number | undefined {
  let times: number[];
  try {
    times = CronExpressionParser.parse(cron, { tz: 'UTC', currentDate: from, strict: false })
      .take(CRON_WINDOW)
      .map((date) => date.getTime());
  } catch {
    return undefined;
  }
  let shortest: number | undefined;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    if (shortest === undefined || gap < shortest) shortest = gap;
  }
  return shortest;
}

/**
 * A recurring definition names one way to recur, and each run ends before the next is due:
 * otherwise the schedule skips runs, or two campaigns review the same access at once.
 */
export function checkRecurrence(
  definition: { deadline: number; every?: number; cron?: string },
  ctx: z.RefinementCtx,
): void {
  const { deadline, every, cron } = definition;
  if (every !== undefined && cron !== undefined)
    issue(ctx, [], 'takes at most one of "every" or "cron"');
  if (typeof deadline !== 'number') return;
  const shown = formatDuration(deadline);
  if (typeof every === 'number' && every <= deadline) {
    issue(
      ctx,
      ['every'],
      `must be longer than the deadline (${shown}), or a run would start before the last ends`,
    );
  }
  const gap = typeof cron === 'string' ? shortestCronGapMs(cron) : undefined;
  if (gap !== undefined && gap <= deadline) {
    const message =
      `fires ${formatDuration(gap)} apart at its closest, not longer than the deadline (${shown}): ` +
      'a run would start before the last ends';
    issue(ctx, ['cron'], message);
  }
}
