import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { parseDuration } from './duration';

/** Longest grant any entitlement may allow; anything longer is standing access, not JIT. */
export const MAX_GRANT_MS = 90 * 86_400_000;

export const Slug = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"');

const SlackChannelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C012ABCDEF');

const EntitlementId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, 'must be letters, digits, ".", "_", "-" or "/"');

export const RiskTier = z.enum(['low', 'medium', 'high', 'critical']);
export type RiskTier = z.infer<typeof RiskTier>;

/** A duration written as 90s, 30m, 4h or 7d, turned into bounded milliseconds at the edge. */
export function durationText(maxMs = MAX_GRANT_MS) {
  return z
    .string()
    .describe('a duration such as 90s, 30m, 4h or 7d')
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 30m, 4h or 7d` });
        return z.NEVER;
      }
      if (ms > maxMs) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is longer than the limit of ${maxMs / 86_400_000}d` });
        return z.NEVER;
      }
      return ms;
    });
}

/** Connection details are referenced, never written inline: env:VAR or file:/path. */
export const SecretRef = z
  .string()
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/,
    'must be a secret reference such as env:VAR or file:/path, never the value',
  );

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
  required: z.number().int().min(0).max(10).describe('distinct approvers needed; 0 approves automatically'),
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

const Login = z.string().min(1).max(63);

/** The characters a generated secret is drawn from; none needs quoting in a URL or a shell. */
export const SECRET_ALPHABETS = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  'alphanumeric-symbols': 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=',
} as const;

export const GeneratorSchema = z.strictObject({
  length: z.number().int().min(16).max(128).default(32),
  alphabet: z.enum(Object.keys(SECRET_ALPHABETS) as [keyof typeof SECRET_ALPHABETS]).default('alphanumeric'),
});

/** A five-field cron expression (minute hour day-of-month month day-of-week), read in UTC. */
export const CronText = z
  .string()
  .describe('a cron expression such as "0 3 * * 1" (minute hour day month weekday, UTC)')
  .superRefine((text, ctx) => {
    if (text.trim().split(/\s+/).length !== 5) {
      ctx.addIssue({ code: 'custom', message: `"${text}" must have five fields: minute hour day month weekday` });
      return;
    }
    try {
      CronExpressionParser.parse(text, { tz: 'UTC', strict: false });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a cron expression: ${(err as Error).message}` });
    }
  });

export const WebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  secret: SecretRef.describe('key of the HMAC-SHA-256 signature on each call'),
});

export const CredentialSchema = z.strictObject({
  id: EntitlementId,
  identity: Slug.describe('the non-human identity that uses the secret'),
  system: Slug,
  strategy: z.enum(['single-login', 'alternating-logins']),
  logins: z
    .array(Login)
    .length(2)
    .optional()
    .describe("alternating-logins only: the two logins that take turns; single-login uses the identity's login"),
  every: durationText(366 * 86_400_000).optional(),
  cron: CronText.optional(),
  overlap: durationText()
    .optional()
    .describe('how long the previous secret keeps working after a rotation (alternating logins; default 1h)'),
  generator: GeneratorSchema.prefault({}),
  notify: z.array(Slug).default([]).describe('identities or groups told of each rotation, besides the owner'),
  webhooks: z.array(WebhookSchema).default([]).describe("the consumers' endpoints, called after each rotation"),
});

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

export const SettingsSchema = z.strictObject({
  approvalWindow: durationText().default(4 * 3_600_000),
  expiryWarning: durationText()
    .default(15 * 60_000)
    .describe('how long before expiry the requester is warned'),
  adminGroup: Slug.default('security'),
  incidentGroup: Slug.default('security').describe('members may open incidents and approve restores'),
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
export type Credential = z.infer<typeof CredentialSchema>;
export type CampaignDefinition = z.infer<typeof CampaignDefinitionSchema>;

/** How long the previous secret keeps working: only alternating logins can keep two alive. */
export const DEFAULT_OVERLAP_MS = 3_600_000;

export function overlapOf(credential: Pick<Credential, 'strategy' | 'overlap'>): number {
  if (credential.strategy !== 'alternating-logins') return 0;
  return credential.overlap ?? DEFAULT_OVERLAP_MS;
}

/** The login on `system` that belongs to `identity`: the one the policy names, or the identity's id. */
export function loginOf(identity: Pick<Identity, 'id' | 'logins'>, system: string): string {
  return Object.hasOwn(identity.logins, system) ? identity.logins[system] : identity.id;
}

/** The logins a credential's secret is set on: the identity's own, or the alternating pair. */
export function credentialLogins(credential: Credential, identity: Pick<Identity, 'id' | 'logins'>): string[] {
  return credential.strategy === 'alternating-logins' && credential.logins
    ? credential.logins
    : [loginOf(identity, credential.system)];
}

type Ctx = z.RefinementCtx;

function checkUnique(items: { id: string }[], kind: string, ctx: Ctx): Set<string> {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.id)) {
      ctx.addIssue({ code: 'custom', path: [kind, index, 'id'], message: `duplicate id "${item.id}"` });
    }
    seen.add(item.id);
  });
  return seen;
}

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
    if (!systems.has(entitlement.system)) missing(['entitlements', i, 'system'], 'system', entitlement.system);
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

function checkCredentials(
  policy: z.infer<typeof PolicyObject>,
  identities: Set<string>,
  groups: Set<string>,
  systems: Set<string>,
  ctx: Ctx,
): void {
  checkUnique(policy.credentials, 'credentials', ctx);
  const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  // Whose login each name on each system is, so a credential cannot take over somebody else's.
  const loginOwner = new Map<string, string>();
  for (const identity of policy.identities) {
    for (const system of systems) loginOwner.set(`${system}\u0000${loginOf(identity, system)}`, identity.id);
  }
  const rotated = new Map<string, string>();

  policy.credentials.forEach((credential, i) => {
    const at = (...path: (string | number)[]) => ['credentials', i, ...path];
    const identity = policy.identities.find((candidate) => candidate.id === credential.identity);
    if (!identity) problem(at('identity'), `unknown identity "${credential.identity}"`);
    else if (identity.kind !== 'non-human') {
      problem(at('identity'), `${identity.id} is a person; keyward rotates the secrets of non-human identities`);
    }
    if (!systems.has(credential.system)) problem(at('system'), `unknown system "${credential.system}"`);
    if ((credential.every === undefined) === (credential.cron === undefined)) {
      problem(at(), 'needs exactly one of "every" or "cron"');
    }
    if (credential.every !== undefined && credential.every < 60_000) {
      problem(at('every'), 'must be at least 1m');
    }
    const overlap = overlapOf(credential);
    if (credential.every !== undefined && overlap >= credential.every) {
      problem(at('overlap'), 'must be shorter than the rotation interval, or two rotations would overlap');
    }
    if (credential.strategy === 'single-login') {
      if (credential.logins) problem(at('logins'), "single-login rotates the identity's own login; remove logins");
      if (credential.overlap !== undefined) {
        problem(at('overlap'), 'a single login holds one password at a time, so it has no overlap');
      }
    } else if (!credential.logins) {
      problem(at('logins'), 'alternating-logins needs the two logins that take turns');
    } else if (credential.logins[0] === credential.logins[1]) {
      problem(at('logins'), 'the two logins must differ');
    }
    credential.notify.forEach((who, j) => {
      if (!identities.has(who) && !groups.has(who)) problem(at('notify', j), `unknown identity or group "${who}"`);
    });
    if (!identity) return;
    credentialLogins(credential, identity).forEach((login, j) => {
      const key = `${credential.system}\u0000${login}`;
      const path = credential.strategy === 'single-login' ? at('identity') : at('logins', j);
      const owner = loginOwner.get(key);
      if (owner && owner !== identity.id) problem(path, `login "${login}" on ${credential.system} is ${owner}'s`);
      const other = rotated.get(key);
      if (other && other !== credential.id) {
        problem(path, `login "${login}" on ${credential.system} is already rotated by ${other}`);
      }
      rotated.set(key, credential.id);
    });
  });
}

function checkCampaigns(policy: z.infer<typeof PolicyObject>, groups: Set<string>, ctx: Ctx): void {
  const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const fallback = policy.settings.campaignFallbackGroup;
  if (fallback && !groups.has(fallback)) problem(['settings', 'campaignFallbackGroup'], `unknown group "${fallback}"`);
  checkUnique(policy.campaigns, 'campaigns', ctx);
  policy.campaigns.forEach((campaign, i) => {
    if (campaign.every !== undefined && campaign.cron !== undefined) {
      problem(['campaigns', i], 'takes at most one of "every" or "cron"');
    }
    if (campaign.every !== undefined && campaign.every <= campaign.deadline) {
      problem(['campaigns', i, 'every'], 'must be longer than the deadline, or two runs would overlap');
    }
    const group = campaign.reviewers.startsWith('group:') ? campaign.reviewers.slice('group:'.length) : undefined;
    if (group && !groups.has(group)) problem(['campaigns', i, 'reviewers'], `unknown group "${group}"`);
    campaign.remind.forEach((lead, j) => {
      if (lead >= campaign.deadline) problem(['campaigns', i, 'remind', j], 'must be shorter than the deadline');
    });
  });
}

/** Formats a zod issue path the way people read them: entitlements[2].maxDuration. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
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
  return z.toJSONSchema(PolicyObject, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
