import { z } from 'zod';
import { parseDuration } from './duration';

/** The building blocks of the policy file's schema: ids, durations, secret references. */
/** Longest grant any entitlement may allow; anything longer is standing access, not JIT. */
export const MAX_GRANT_MS = 90 * 86_400_000;

export const Slug = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"');

export const SlackChannelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C012ABCDEF');

export const EntitlementId = z
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
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is not a duration such as 30m, 4h or 7d`,
        });
        return z.NEVER;
      }
      if (ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is longer than the limit of ${maxMs / 86_400_000}d`,
        });
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

export const Login = z.string().min(1).max(63);

/** Refuses two items of one kind with the same id; returns the ids seen. */
export function checkUnique(
  items: { id: string }[],
  kind: string,
  ctx: z.RefinementCtx,
): Set<string> {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.id)) {
      ctx.addIssue({
        code: 'custom',
        path: [kind, index, 'id'],
        message: `duplicate id "${item.id}"`,
      });
    }
    seen.add(item.id);
  });
  return seen;
}
