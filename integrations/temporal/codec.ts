import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Reads a 32-byte AES key given as base64 (standard or url-safe). */
export function parseEncryptionKey(text: string | undefined): Buffer {
  const key = Buffer.from((text ?? '').trim(), 'base64');
  if (key.length !== 32) {
    throw new Error(
      'KEYWARD_ENCRYPTION_KEY must be 32 random bytes in base64 (for example: openssl rand -base64 32)',
    );
  }
  return key;
}

/**
 * Encrypts every payload with AES-256-GCM before it leaves the process, so the Temporal
 * server and anyone reading its database see ciphertext only, and refuses to decode any
 * payload that was not encrypted with the same key. The key id lets a later key
 * rotation decrypt old histories with the key that wrote them.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: utf8(ENCODING), 'encryption-key-id': utf8(this.keyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding =
        payload.metadata?.encoding && Buffer.from(payload.metadata.encoding).toString();
      // Whoever can reach Temporal but lacks the key could otherwise send plain payloads (an
      // approval in someone else's name) that workers would trust. Only the key's holders speak.
      if (encoding !== ENCODING)
        throw new Error('refusing an unencrypted payload: it was not sent by a keyward client');
      const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
      if (keyId !== this.keyId)
        throw new Error(`payload was encrypted with key ${keyId}, not the configured key`);
      const sealed = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, IV_BYTES));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Where the workflow sandbox, and any bundle made ahead of time, loads the failure converter from. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The data converter for clients and workers: payloads and failures encrypted alike. */
export function encryptedDataConverter(key: Buffer): DataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec(key)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
