import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Encrypts secret values at rest; each value is bound to where it belongs by its associated data. */
export interface SecretCipher {
  seal(plaintext: string, context: string): Buffer;
  open(sealed: Buffer, context: string): string;
}

/**
 * AES-256-GCM under a key derived from keyward's encryption key with HKDF, so the secret store
 * and the Temporal payload codec never share a key. The context (a credential and version id)
 * is authenticated, so a sealed value copied onto another row does not open there.
 */
export function createSecretCipher(masterKey: Buffer): SecretCipher {
  if (masterKey.length !== 32) throw new Error('the secret store needs a 32-byte key');
  const key = Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keyward secret store v1', 32),
  );

  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from([FORMAT]), iv, body, cipher.getAuthTag()]);
    },
    open(sealed, context) {
      if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT) {
        throw new Error(`the stored secret for ${context} is not in a format keyward wrote`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      try {
        const body = sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new Error(
          `the stored secret for ${context} does not decrypt: wrong key, or it was altered`,
        );
      }
    },
  };
}
