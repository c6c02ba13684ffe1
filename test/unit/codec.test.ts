import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, parseEncryptionKey } from '../../integrations/temporal/codec';

const SECRET_TEXT = 'reason: rotate pg-main s3cret-password-42';

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

async function encodeOne(codec: AesGcmPayloadCodec, payload: Payload): Promise<Payload> {
  const [encoded] = await codec.encode([payload]);
  return encoded;
}

async function decodeOne(codec: AesGcmPayloadCodec, payload: Payload): Promise<Payload> {
  const [decoded] = await codec.decode([payload]);
  return decoded;
}

async function failureOf(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the work to fail');
}

describe('AesGcmPayloadCodec', () => {
  const key = randomBytes(32);
  const codec = new AesGcmPayloadCodec(key);

  it('round-trips payloads of every kind the converter makes', async () => {
    const values = [
      { requestId: 'req-1', reason: SECRET_TEXT, approvals: [{ approver: 'bob' }] },
      'text',
      42,
      null,
    ];
    const payloads = values.map(payloadOf);

    const decoded = await codec.decode(await codec.encode(payloads));

    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(values);
    expect(decoded.map((p) => text(p.metadata?.encoding))).toEqual(
      payloads.map((p) => text(p.metadata?.encoding)),
    );
  });

  it('round-trips an undefined value and binary data', async () => {
    const bytes = new Uint8Array(randomBytes(64));

    const encoded = await codec.encode([payloadOf(undefined), payloadOf(bytes)]);

    const [undefinedBack, bytesBack] = await codec.decode(encoded);

    expect(defaultPayloadConverter.fromPayload(undefinedBack)).toBeUndefined();
    expect(Buffer.from(defaultPayloadConverter.fromPayload<Uint8Array>(bytesBack))).toEqual(
      Buffer.from(bytes),
    );
  });

  it('marks the encoding and the key id, and never carries the plaintext', async () => {
    const encoded = await encodeOne(codec, payloadOf({ reason: SECRET_TEXT }));
    const everything = Buffer.concat([
      Buffer.from(encoded.data ?? []),
      ...Object.values(encoded.metadata ?? {}).map((value) => Buffer.from(value)),
    ]);

    expect(text(encoded.metadata?.encoding)).toBe('binary/encrypted');
    expect(text(encoded.metadata?.['encryption-key-id'])).toBe(codec.keyId);
    expect(everything.includes(Buffer.from(SECRET_TEXT))).toBe(false);
    expect(everything.includes(Buffer.from('s3cret'))).toBe(false);
    expect(everything.includes(Buffer.from('json/plain'))).toBe(false);
  });

  it('encodes one payload differently each time', async () => {
    const payload = payloadOf({ reason: SECRET_TEXT });

    const first = await encodeOne(codec, payload);
    const second = await encodeOne(codec, payload);

    expect(Buffer.from(first.data ?? []).equals(Buffer.from(second.data ?? []))).toBe(false);
    // The random IV is the first 12 bytes.
    expect(
      Buffer.from(first.data ?? [])
        .subarray(0, 12)
        .equals(Buffer.from(second.data ?? []).subarray(0, 12)),
    ).toBe(false);
    expect(defaultPayloadConverter.fromPayload(await decodeOne(codec, second))).toEqual({
      reason: SECRET_TEXT,
    });
  });

  it('refuses a payload whose ciphertext was tampered with', async () => {
    const encoded = await encodeOne(codec, payloadOf({ grant: 'pg/admin' }));
    const data = Buffer.from(encoded.data ?? []);
    data[20] ^= 0x01;

    const failure = await failureOf(decodeOne(codec, { ...encoded, data }));

    expect(failure.message).toMatch(/unable to authenticate data/);
    expect(failure.message).not.toContain('pg/admin');
  });

  it('refuses a payload whose authentication tag was cut off', async () => {
    const encoded = await encodeOne(codec, payloadOf({ grant: 'pg/admin' }));
    const data = Buffer.from(encoded.data ?? []).subarray(0, -1);

    await expect(decodeOne(codec, { ...encoded, data })).rejects.toThrow(
      /unable to authenticate data/,
    );
  });

  it('refuses a payload written with another key, naming key ids and never key bytes', async () => {
    const otherKey = randomBytes(32);
    const other = new AesGcmPayloadCodec(otherKey);
    const encoded = await encodeOne(other, payloadOf({ grant: 'pg/admin' }));

    const failure = await failureOf(decodeOne(codec, encoded));

    expect(other.keyId).not.toBe(codec.keyId);
    expect(failure.message).toContain(other.keyId);
    for (const bytes of [key, otherKey]) {
      for (const form of [
        bytes.toString('base64'),
        bytes.toString('base64url'),
        bytes.toString('hex'),
      ]) {
        expect(failure.message).not.toContain(form);
      }
    }
  });

  it('refuses a payload that claims this key id but was sealed with another key', async () => {
    const encoded = await encodeOne(new AesGcmPayloadCodec(randomBytes(32)), payloadOf('x'));
    const forged = {
      ...encoded,
      metadata: { ...encoded.metadata, 'encryption-key-id': Buffer.from(codec.keyId) },
    };

    await expect(decodeOne(codec, forged)).rejects.toThrow(/unable to authenticate data/);
  });

  it('refuses unencrypted payloads, so nobody without the key can speak for keyward', async () => {
    const forged = payloadOf({ actor: 'bob', decision: 'approve' });

    await expect(decodeOne(codec, forged)).rejects.toThrow('refusing an unencrypted payload');
  });

  it('derives the same key id from the same key', () => {
    expect(new AesGcmPayloadCodec(Buffer.from(key)).keyId).toBe(codec.keyId);
    expect(codec.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new AesGcmPayloadCodec(randomBytes(16))).toThrow(
      'AES-256-GCM needs a 32-byte key',
    );
  });
});

describe('parseEncryptionKey', () => {
  it('reads 32 bytes given in standard or url-safe base64', () => {
    const key = randomBytes(32);

    expect(parseEncryptionKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('base64url')).equals(key)).toBe(true);
    expect(parseEncryptionKey(`  ${key.toString('base64')}\n`).equals(key)).toBe(true);
  });

  it.each([
    ['nothing', undefined],
    ['an empty string', ''],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['a passphrase', 'correct-horse-battery-staple'],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
  ])('refuses %s without repeating what it was given', (_, given) => {
    let failure: Error | undefined;
    try {
      parseEncryptionKey(given);
    } catch (error) {
      failure = error as Error;
    }

    expect(failure?.message).toContain('KEYWARD_ENCRYPTION_KEY must be 32 random bytes');
    if (given) expect(failure?.message).not.toContain(given.trim());
  });
});
