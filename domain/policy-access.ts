import { z } from 'zod';
import {
  durationText,
  EntitlementId,
  RiskTier,
  SecretRef,
  SlackChannelId,
  Slug,
} from './policy-fields';

// The policy file's people and systems: identities, groups, systems, entitlements and settings.

export const IdentitySchema = z.strictObject({
  id: Slug,
  kind: z.enum(['human', 'non-human']).default('human'),
  name: z.string().min(1).max(200).optional(),
  email: z.email().optional(),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF')
    .optional(),
  owner: Slug.optional().describe('the person accountable for a non-human identity'),
  manager: Slug.optional(),
  riskTier: RiskTier.default('low'),
  logins: z
    .record(Slug, z.string().min(1).max(63))
    .default({})
    .describe('login name per system id; the identity id is used where a system is not listed'),
});

export const GroupSchema = z.strictObject({
  id: Slug,
  members: z.array(Slug).min(1),
});

export const SystemSchema = z.strictObject({
  id: Slug,
  type: z.literal('postgres'),
  connection: SecretRef,
});

export const ApprovalRuleSchema = z.strictObject({
  required: z
    .number()
    .int()
    .min(0)
    .max(10)
    .describe('distinct approvers needed; 0 approves automatically'),
  from: z.array(Slug).default([]).describe('groups whose members may approve'),
});

export const EntitlementSchema = z.strictObject({
  id: EntitlementId,
  system: Slug,
  role: z.string().min(1).max(63),
  riskTier: RiskTier.default('medium'),
  maxDuration: durationText(),
  requireReason: z.boolean().default(true),
  approval: ApprovalRuleSchema,
  approvalChannel: SlackChannelId.optional().describe(
    "post approval requests to this Slack channel instead of each approver's DMs",
  ),
});

export const SettingsSchema = z.strictObject({
  approvalWindow: durationText().default(4 * 3_600_000),
  expiryWarning: durationText()
    .default(15 * 60_000)
    .describe('how long before expiry the requester is warned'),
  adminGroup: Slug.default('security'),
  incidentGroup: Slug.default('security').describe(
    'members may open incidents and approve restores',
  ),
  incidentChannel: SlackChannelId.optional().describe(
    "the security team's Slack channel: every incident's notices are posted there too",
  ),
  incidentWebhookSecret: SecretRef.optional().describe(
    'key of the HMAC-SHA-256 signature detection systems put on POST /v1/hooks/incident',
  ),
  incidentAlertAfter: durationText()
    .default(60_000)
    .describe('how long containment may take before the security group is alerted'),
  campaignFallbackGroup: Slug.optional().describe(
    'reviews items whose identity has no manager or owner; the admin group when unset',
  ),
  massRevocationShare: z
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe('a default revocation over this share of the items waits for an admin to confirm'),
  campaignRemediationRetry: durationText()
    .default(7 * 86_400_000)
    .describe(
      "how long a campaign's failed revocations are retried before it ends and reports them",
    ),
});

export type Identity = z.infer<typeof IdentitySchema>;
export type Group = z.infer<typeof GroupSchema>;
export type System = z.infer<typeof SystemSchema>;
export type Entitlement = z.infer<typeof EntitlementSchema>;
