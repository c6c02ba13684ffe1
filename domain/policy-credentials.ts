import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { checkUnique, durationText, EntitlementId, Login, SecretRef, Slug } from './policy-fields';

/** The credentials section of the policy file: the secrets keyward rotates, and how. */
/** The characters a generated secret is drawn from; none needs quoting in a URL or a shell. */
export const SECRET_ALPHABETS = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  'alphanumeric-symbols': 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=',
} as const;

export const GeneratorSchema = z.strictObject({
  length: z.number().int().min(16).max(128).default(32),
  alphabet: z
    .enum(Object.keys(SECRET_ALPHABETS) as [keyof typeof SECRET_ALPHABETS])
    .default('alphanumeric'),
});

/** A five-field cron expression (minute hour day-of-month month day-of-week), read in UTC. */
export const CronText = z
  .string()
  .describe('a cron expression such as "0 3 * * 1" (minute hour day month weekday, UTC)')
  .superRefine((text, ctx) => {
    if (text.trim().split(/\s+/).length !== 5) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" must have five fields: minute hour day month weekday`,
      });
      return;
    }
    try {
      CronExpressionParser.parse(text, { tz: 'UTC', strict: false });
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a cron expression: ${(err as Error).message}`,
      });
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
    .describe(
      "alternating-logins only: the two logins that take turns; single-login uses the identity's login",
    ),
  every: durationText(366 * 86_400_000).optional(),
  cron: CronText.optional(),
  overlap: durationText()
    .optional()
    .describe(
      'how long the previous secret keeps working after a rotation (alternating logins; default 1h)',
    ),
  generator: GeneratorSchema.prefault({}),
  notify: z
    .array(Slug)
    .default([])
    .describe('identities or groups told of each rotation, besides the owner'),
  webhooks: z
    .array(WebhookSchema)
    .default([])
    .describe("the consumers' endpoints, called after each rotation"),
});

export type Credential = z.infer<typeof CredentialSchema>;

/** What the credential rules need of an identity: its id and the logins the policy names. */
export interface LoginHolder {
  id: string;
  logins: Record<string, string>;
}

/** How long the previous secret keeps working: only alternating logins can keep two alive. */
export const DEFAULT_OVERLAP_MS = 3_600_000;

export function overlapOf(credential: Pick<Credential, 'strategy' | 'overlap'>): number {
  if (credential.strategy !== 'alternating-logins') return 0;
  return credential.overlap ?? DEFAULT_OVERLAP_MS;
}

/** The login on `system` that belongs to `identity`: the one the policy names, or the identity's id. */
export function loginOf(identity: LoginHolder, system: string): string {
  return Object.hasOwn(identity.logins, system) ? identity.logins[system] : identity.id;
}

/** The logins a credential's secret is set on: the identity's own, or the alternating pair. */
export function credentialLogins(credential: Credential, identity: LoginHolder): string[] {
  return credential.strategy === 'alternating-logins' && credential.logins
    ? credential.logins
    : [loginOf(identity, credential.system)];
}

/** The credentials' own rules, and that none of them takes over a login that is not its identity's. */
export function checkCredentials(
  policy: { identities: (LoginHolder & { kind: string })[]; credentials: Credential[] },
  identities: Set<string>,
  groups: Set<string>,
  systems: Set<string>,
  ctx: z.RefinementCtx,
): void {
  checkUnique(policy.credentials, 'credentials', ctx);
  const problem = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  // Whose login each name on each system is, so a credential cannot take over somebody else's.
  const loginOwner = new Map<string, string>();
  for (const identity of policy.identities) {
    for (const system of systems)
      loginOwner.set(`${system}\u0000${loginOf(identity, system)}`, identity.id);
  }
  const rotated = new Map<string, string>();

  policy.credentials.forEach((credential, i) => {
    const at = (...path: (string | number)[]) => ['credentials', i, ...path];
    const identity = policy.identities.find((candidate) => candidate.id === credential.identity);
    if (!identity) problem(at('identity'), `unknown identity "${credential.identity}"`);
    else if (identity.kind !== 'non-human') {
      problem(
        at('identity'),
        `${identity.id} is a person; keyward rotates the secrets of non-human identities`,
      );
    }
    if (!systems.has(credential.system))
      problem(at('system'), `unknown system "${credential.system}"`);
    if ((credential.every === undefined) === (credential.cron === undefined)) {
      problem(at(), 'needs exactly one of "every" or "cron"');
    }
    if (credential.every !== undefined && credential.every < 60_000) {
      problem(at('every'), 'must be at least 1m');
    }
    const overlap = overlapOf(credential);
    if (credential.every !== undefined && overlap >= credential.every) {
      problem(
        at('overlap'),
        'must be shorter than the rotation interval, or two rotations would overlap',
      );
    }
    if (credential.strategy === 'single-login') {
      if (credential.logins)
        problem(at('logins'), "single-login rotates the identity's own login; remove logins");
      if (credential.overlap !== undefined) {
        problem(at('overlap'), 'a single login holds one password at a time, so it has no overlap');
      }
    } else if (!credential.logins) {
      problem(at('logins'), 'alternating-logins needs the two logins that take turns');
    } else if (credential.logins[0] === credential.logins[1]) {
      problem(at('logins'), 'the two logins must differ');
    }
    credential.notify.forEach((who, j) => {
      if (!identities.has(who) && !groups.has(who))
        problem(at('notify', j), `unknown identity or group "${who}"`);
    });
    if (!identity) return;
    credentialLogins(credential, identity).forEach((login, j) => {
      const key = `${credential.system}\u0000${login}`;
      const path = credential.strategy === 'single-login' ? at('identity') : at('logins', j);
      const owner = loginOwner.get(key);
      if (owner && owner !== identity.id)
        problem(path, `login "${login}" on ${credential.system} is ${owner}'s`);
      const other = rotated.get(key);
      if (other && other !== credential.id) {
        problem(path, `login "${login}" on ${credential.system} is already rotated by ${other}`);
      }
      rotated.set(key, credential.id);
    });
  });
}
