import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's own default; the same cost its server applies to passwords it hashes itself. */
const ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), in the text
 * form that ALTER ROLE ... PASSWORD accepts as already hashed. The server never sees the
 * password itself, so it cannot reach its logs or its statement statistics.
 *
 * The password must be ASCII without control characters: SASLprep leaves those unchanged, and
 * keyward's generators only produce them.
 */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = ITERATIONS,
): string {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new Error('a SCRAM password from keyward must be printable ASCII without spaces');
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (bytes: Buffer) => bytes.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/** What scramVerifier writes; checked again before it is put into a statement. */
export const SCRAM_VERIFIER =
  /^SCRAM-SHA-256\$\d{4,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$/;
