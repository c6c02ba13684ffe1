import { z } from 'zod';
import { scopeProblems } from './campaign-fields';
import { CampaignDefinitionSchema } from './policy-campaigns';
import { checkCredentials, CredentialSchema, loginOf } from './policy-credentials';
import {
  checkUnique,
  durationText,
  EntitlementId,
  RiskTier,
  SecretRef,
  SlackChannelId,
  Slug,
} from './policy-fields';

// The sections live in files of their own; importers keep reading them from here.
export * from './campaign-fields';
export * from './policy-campaigns';
export * from './policy-credentials';
export * from './policy-fields';

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

const PolicyObject = z.strictObject({
  version: z.literal(1),
  settings: SettingsSchema.prefault({}),
  identities: z.array(IdentitySchema).min(1),
  groups: z.array(GroupSchema).default([]),
  systems: z.array(SystemSchema).default([]),
  entitlements: z.array(EntitlementSchema).default([]),
  credentials: z.array(CredentialSchema).default([]),
  campaigns: z.array(CampaignDefinitionSchema).default([]),
});

// What the reference checks read. They run whenever these parts are well formed, even if other
// fields are wrong, so one pass over a policy lists every problem rather than the first kind.
const ReferenceShape = z.object({
  settings: z.object({ adminGroup: z.string(), incidentGroup: z.string() }),
  identities: z.array(z.object({ id: z.string(), logins: z.record(z.string(), z.unknown()) })),
  groups: z.array(z.object({ id: z.string(), members: z.array(z.string()) })),
  systems: z.array(z.object({ id: z.string() })),
  entitlements: z.array(
    z.object({
      id: z.string(),
      system: z.string(),
      approval: z.object({ required: z.number(), from: z.array(z.string()) }),
    }),
  ),
  credentials: z.array(
    z.object({
      id: z.string(),
      identity: z.string(),
      system: z.string(),
      strategy: z.string(),
      logins: z.array(z.string()).optional(),
      every: z.number().optional(),
      cron: z.string().optional(),
      overlap: z.number().optional(),
      notify: z.array(z.string()),
    }),
  ),
});

export const PolicySchema = PolicyObject.superRefine(checkReferences, {
  when: (payload) => ReferenceShape.safeParse(payload.value).success,
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type Identity = z.infer<typeof IdentitySchema>;
export type Group = z.infer<typeof GroupSchema>;
export type System = z.infer<typeof SystemSchema>;
export type Entitlement = z.infer<typeof EntitlementSchema>;

type Ctx = z.RefinementCtx;

function checkReferences(policy: z.infer<typeof PolicyObject>, ctx: Ctx): void {
  const identities = checkUnique(policy.identities, 'identities', ctx);
  const groups = checkUnique(policy.groups, 'groups', ctx);
  const systems = checkUnique(policy.systems, 'systems', ctx);
  checkUnique(policy.entitlements, 'entitlements', ctx);
  const missing = (path: (string | number)[], kind: string, id: string) =>
    ctx.addIssue({ code: 'custom', path, message: `unknown ${kind} "${id}"` });

  policy.identities.forEach((identity, i) => {
    if (identity.owner && !identities.has(identity.owner))
      missing(['identities', i, 'owner'], 'identity', identity.owner);
    if (identity.manager && !identities.has(identity.manager)) {
      missing(['identities', i, 'manager'], 'identity', identity.manager);
    }
    if (identity.kind === 'non-human' && !identity.owner) {
      ctx.addIssue({
        code: 'custom',
        path: ['identities', i, 'owner'],
        message: 'a non-human identity needs an owner',
      });
    }
    for (const system of Object.keys(identity.logins)) {
      if (!systems.has(system)) missing(['identities', i, 'logins', system], 'system', system);
    }
  });
  // Two identities sharing a login on one system would let one approve the other's access to it.
  for (const system of systems) {
    const owners = new Map<string, string>();
    policy.identities.forEach((identity, i) => {
      // A duplicate identity is reported as such, not again as a login clash with itself.
      if (policy.identities.findIndex((other) => other.id === identity.id) !== i) return;
      const login = loginOf(identity, system);
      const other = owners.get(login);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: ['identities', i, 'logins', system],
          message: `login "${login}" on ${system} is already ${other}'s`,
        });
      }
      owners.set(login, identity.id);
    });
  }
  policy.groups.forEach((group, i) =>
    group.members.forEach((member, j) => {
      if (!identities.has(member)) missing(['groups', i, 'members', j], 'identity', member);
    }),
  );
  if (!groups.has(policy.settings.adminGroup)) {
    missing(['settings', 'adminGroup'], 'group', policy.settings.adminGroup);
  }
  if (!groups.has(policy.settings.incidentGroup)) {
    missing(['settings', 'incidentGroup'], 'group', policy.settings.incidentGroup);
  }

  // Two entitlements granting one role would share one membership on the target, and the first
  // grant to end would take it from the other.
  const roleOwners = new Map<string, string>();
  policy.entitlements.forEach((entitlement, i) => {
    const key = `${entitlement.system}\u0000${entitlement.role}`;
    const other = roleOwners.get(key);
    if (other && other !== entitlement.id) {
      const message = `role "${entitlement.role}" on ${entitlement.system} is already granted by ${other}`;
      ctx.addIssue({ code: 'custom', path: ['entitlements', i, 'role'], message });
    }
    if (!other) roleOwners.set(key, entitlement.id);
  });

  checkCredentials(policy, identities, groups, systems, ctx);
  checkCampaigns(policy, groups, ctx);

  const membersOf = new Map(policy.groups.map((g) => [g.id, g.members]));
  policy.entitlements.forEach((entitlement, i) => {
    if (!systems.has(entitlement.system))
      missing(['entitlements', i, 'system'], 'system', entitlement.system);
    const { required, from } = entitlement.approval;
    from.forEach((group, j) => {
      if (!groups.has(group)) missing(['entitlements', i, 'approval', 'from', j], 'group', group);
    });
    if (required === 0 && entitlement.riskTier !== 'low') {
      ctx.addIssue({
        code: 'custom',
        path: ['entitlements', i, 'approval', 'required'],
        message: `auto-approval (0 approvers) is only allowed for low-risk entitlements, not ${entitlement.riskTier}`,
      });
    }
    const approvers = new Set(from.flatMap((group) => membersOf.get(group) ?? []));
    if (required > 0 && approvers.size < required) {
      ctx.addIssue({
        code: 'custom',
        path: ['entitlements', i, 'approval'],
        message: `needs ${required} approvers but its groups have only ${approvers.size} members`,
      });
    }
  });
}

// What the campaign checks read of a definition; one malformed in other ways has its own issues.
const CampaignRefs = z.object({
  reviewers: z.string(),
  fallbackGroup: z.string().optional(),
  scope: z.object({ systems: z.array(z.string()), entitlements: z.array(z.string()) }),
});

function checkCampaigns(policy: z.infer<typeof PolicyObject>, groups: Set<string>, ctx: Ctx): void {
  const problem = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const fallback = policy.settings.campaignFallbackGroup;
  if (fallback && !groups.has(fallback))
    problem(['settings', 'campaignFallbackGroup'], `unknown group "${fallback}"`);
  if (!Array.isArray(policy.campaigns)) return;
  checkUnique(policy.campaigns, 'campaigns', ctx);
  const known = {
    systems: new Set(policy.systems.map((s) => s.id)),
    entitlements: new Set(policy.entitlements.map((e) => e.id)),
  };
  // The rules of a definition's own fields are the definition schema's; these need the groups.
  policy.campaigns.forEach((campaign, i) => {
    const refs = CampaignRefs.safeParse(campaign);
    if (!refs.success) return;
    const { reviewers, fallbackGroup, scope } = refs.data;
    for (const { path, message } of scopeProblems(scope, known))
      problem(['campaigns', i, ...path], message);
    const group = reviewers.startsWith('group:') ? reviewers.slice('group:'.length) : undefined;
    if (group && !groups.has(group))
      problem(['campaigns', i, 'reviewers'], `unknown group "${group}"`);
    if (fallbackGroup && !groups.has(fallbackGroup)) {
      problem(['campaigns', i, 'fallbackGroup'], `unknown group "${fallbackGroup}"`);
    }
  });
}

/** Formats a zod issue path the way people read them: entitlements[2].maxDuration. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`,
    )
    .join('');
}

export interface PolicyProblem {
  path: string;
  message: string;
}

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; problems: PolicyProblem[] };

/** Validates an already-parsed document (YAML or JSON) and lists every problem with its path. */
export function validatePolicy(document: unknown): PolicyResult {
  const result = PolicySchema.safeParse(document);
  if (result.success) return { ok: true, policy: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: formatPath(issue.path) || '(root)',
      message: issue.message,
    })),
  };
}

/** The JSON Schema of the policy file as people write it, for editors. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicyObject, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
