import { z } from 'zod';
import { scopeProblems } from './campaign-fields';
import type { Entitlement, Group, Identity, SettingsSchema, System } from './policy-access';
import type { CampaignDefinition } from './policy-campaigns';
import { checkCredentials, loginOf } from './policy-credentials';
import type { Credential } from './policy-credentials';
import { checkUnique } from './policy-fields';

// The checks that span sections: every id a policy names exists, and no two parts clash.

// What the reference checks read. They run whenever these parts are well formed, even if other
// fields are wrong, so one pass over a policy lists every problem rather than the first kind.
export const ReferenceShape = z.object({
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

/** The sections of a policy as its schema reads them. */
interface Sections {
  settings: z.infer<typeof SettingsSchema>;
  identities: Identity[];
  groups: Group[];
  systems: System[];
  entitlements: Entitlement[];
  credentials: Credential[];
  campaigns: CampaignDefinition[];
}

/** The ids of each kind the policy defines. */
interface Known {
  identities: Set<string>;
  groups: Set<string>;
  systems: Set<string>;
}

type Ctx = z.RefinementCtx;

const missingIn = (ctx: Ctx) => (path: (string | number)[], kind: string, id: string) =>
  ctx.addIssue({ code: 'custom', path, message: `unknown ${kind} "${id}"` });

/** Every reference between sections, checked in the order the problems are listed. */
export function checkReferences(policy: Sections, ctx: Ctx): void {
  const identities = checkUnique(policy.identities, 'identities', ctx);
  const groups = checkUnique(policy.groups, 'groups', ctx);
  const systems = checkUnique(policy.systems, 'systems', ctx);
  checkUnique(policy.entitlements, 'entitlements', ctx);
  const known: Known = { identities, groups, systems };

  checkIdentities(policy, known, ctx);
  checkLoginClashes(policy, systems, ctx);
  checkGroups(policy, known, ctx);
  checkRoleClashes(policy, ctx);
  checkCredentials(policy, identities, groups, systems, ctx);
  checkCampaigns(policy, groups, ctx);
  checkApprovals(policy, known, ctx);
}

function checkIdentities(policy: Sections, { identities, systems }: Known, ctx: Ctx): void {
  const missing = missingIn(ctx);
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
}

// Two identities sharing a login on one system would let one approve the other's access to it.
function checkLoginClashes(policy: Sections, systems: Set<string>, ctx: Ctx): void {
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
}

function checkGroups(policy: Sections, { identities, groups }: Known, ctx: Ctx): void {
  const missing = missingIn(ctx);
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
}

// Two entitlements granting one role would share one membership on the target, and the first
// grant to end would take it from the other.
function checkRoleClashes(policy: Sections, ctx: Ctx): void {
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
}

// What the campaign checks read of a definition; one malformed in other ways has its own issues.
const CampaignRefs = z.object({
  reviewers: z.string(),
  fallbackGroup: z.string().optional(),
  scope: z.object({ systems: z.array(z.string()), entitlements: z.array(z.string()) }),
});

function checkCampaigns(policy: Sections, groups: Set<string>, ctx: Ctx): void {
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

function checkApprovals(policy: Sections, { groups, systems }: Known, ctx: Ctx): void {
  const missing = missingIn(ctx);
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
