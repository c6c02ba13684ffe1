import { randomInt } from 'node:crypto';

/**
 * A random secret of `length` characters drawn uniformly from `alphabet` (randomInt rejects the
 * biased tail, so no character is likelier than another).
 */
export function generateSecret(length: number, alphabet: string): string {
  const symbols = Array.from(new Set(alphabet));
  if (symbols.length < 2)
    throw new Error('a secret alphabet needs at least two distinct characters');
  if (!Number.isInteger(length) || length < 1)
    throw new Error('a secret needs a positive whole length');
  let secret = '';
  for (let i = 0; i < length; i++) secret += symbols[randomInt(symbols.length)];
  return secret;
}
