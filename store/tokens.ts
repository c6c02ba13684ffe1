import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db';

// Tokens carry a prefix so that a leaked one is recognisable to secret scanners.
const PREFIX = 'kwt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Mints a token for an identity; only its hash is stored, the token itself is returned once. */
export async function mintToken(db: Db, identity: string, label: string): Promise<string> {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('api_tokens')
    .values({ identity, token_hash: hashToken(token), label, revoked_at: null })
    .execute();
  return token;
}

/** The identity a live token belongs to. */
export async function identityForToken(db: Db, token: string): Promise<string | undefined> {
  if (!token.startsWith(PREFIX)) return undefined;
  const row = await db
    .selectFrom('api_tokens')
    .select('identity')
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row?.identity;
}

export async function revokeTokensOf(db: Db, identity: string): Promise<number> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('identity', '=', identity)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
