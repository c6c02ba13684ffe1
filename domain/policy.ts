import { z } from 'zod';
import {
  EntitlementSchema,
  GroupSchema,
  IdentitySchema,
  SettingsSchema,
  SystemSchema,
} from './policy-access';
import { CampaignDefinitionSchema } from './policy-campaigns';
import { CredentialSchema } from './policy-credentials';
import { checkReferences, ReferenceShape } from './policy-references';

// The sections live in files of their own; importers keep reading them from here.
export * from './campaign-fields';
export * from './policy-access';
export * from './policy-campaigns';
export * from './policy-credentials';
export * from './policy-fields';

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

export const PolicySchema = PolicyObject.superRefine(checkReferences, {
  when: (payload) => ReferenceShape.safeParse(payload.value).success,
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

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
