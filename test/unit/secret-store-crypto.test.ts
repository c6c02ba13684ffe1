import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SECRET_ALPHABETS } from '../../domain/policy';
import { createSecretCipher } from '../../integrations/secrets/cipher';
import { generateSecret } from '../../integrations/secrets/generate';
import {
  postSignedWebhook,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  webhookSignature,
} from '../../integrations/webhooks/signature';

const PLAINTEXT = 'pg-main etl password Zq8vN2kLm4Rt7wXy';

function thrownBy(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the work to throw');
}

async function rejectionOf(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the work to fail');
}

describe('createSecretCipher', () => {
  const key = randomBytes(32);
  const cipher = createSecretCipher(key);
  const context = 'credential pg/etl version 3';

  it('opens what it sealed, in the same context', () => {
    const sealed = cipher.seal(PLAINTEXT, context);

    expect(cipher.open(sealed, context)).toBe(PLAINTEXT);
    expect(sealed.includes(Buffer.from(PLAINTEXT))).toBe(false);
  });

  it('round-trips empty and non-ASCII values', () => {
    for (const value of ['', 'zoë ☃ 秘密'])
      expect(cipher.open(cipher.seal(value, context), context)).toBe(value);
  });

  it('seals one value differently each time', () => {
    const first = cipher.seal(PLAINTEXT, context);
    const second = cipher.seal(PLAINTEXT, context);

    expect(first.equals(second)).toBe(false);
    expect(cipher.open(second, context)).toBe(PLAINTEXT);
  });

  it('refuses to open a value in another context, without revealing it', () => {
    const sealed = cipher.seal(PLAINTEXT, context);

    const error = thrownBy(() => cipher.open(sealed, 'credential pg/etl version 4'));

    expect(error.message).toBe(
      'the stored secret for credential pg/etl version 4 does not decrypt: wrong key, or it was altered',
    );
    expect(error.message).not.toContain(PLAINTEXT);
  });

  it('refuses to open a value under another key, without revealing it', () => {
    const sealed = cipher.seal(PLAINTEXT, context);

    const error = thrownBy(() => createSecretCipher(randomBytes(32)).open(sealed, context));

    expect(error.message).toContain('does not decrypt');
    expect(error.message).not.toContain(PLAINTEXT);
  });

  it('refuses a value with any one byte flipped, without revealing it', () => {
    const sealed = cipher.seal(PLAINTEXT, context);

    for (let index = 1; index < sealed.length; index++) {
      const altered = Buffer.from(sealed);
      altered[index] ^= 0x01;

      const error = thrownBy(() => cipher.open(altered, context));

      expect(error.message).toContain('does not decrypt');
      expect(error.message).not.toContain(PLAINTEXT);
    }
  });

  it('refuses a value in a format it did not write', () => {
    const sealed = cipher.seal(PLAINTEXT, context);
    const otherFormat = Buffer.from(sealed);
    otherFormat[0] = 2;

    for (const value of [otherFormat, sealed.subarray(0, 28)]) {
      const error = thrownBy(() => cipher.open(value, context));
      expect(error.message).toBe(
        `the stored secret for ${context} is not in a format keyward wrote`,
      );
    }
  });

  it('needs a 32-byte key', () => {
    expect(() => createSecretCipher(randomBytes(16))).toThrow(
      'the secret store needs a 32-byte key',
    );
  });
});

describe('generateSecret', () => {
  it('draws the requested number of characters from the alphabet only', () => {
    for (const alphabet of Object.values(SECRET_ALPHABETS)) {
      for (const length of [1, 16, 32, 128]) {
        const secret = generateSecret(length, alphabet);

        expect(secret).toHaveLength(length);
        expect([...secret].every((character) => alphabet.includes(character))).toBe(true);
      }
    }
  });

  it('uses every character of the alphabet with roughly equal frequency', () => {
    const alphabet = SECRET_ALPHABETS.hex;
    const counts = new Map<string, number>();

    for (const character of generateSecret(10_000, alphabet))
      counts.set(character, (counts.get(character) ?? 0) + 1);

    // 625 expected per character; the bounds are more than ten standard deviations away.
    expect([...counts.keys()].sort()).toEqual([...alphabet].sort());
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(300);
      expect(count).toBeLessThan(950);
    }
  });

  it('does not repeat itself', () => {
    expect(generateSecret(32, SECRET_ALPHABETS.alphanumeric)).not.toBe(
      generateSecret(32, SECRET_ALPHABETS.alphanumeric),
    );
  });

  it.each([
    ['a one-character alphabet', 'a'],
    ['an alphabet of one repeated character', 'aaaa'],
    ['an empty alphabet', ''],
  ])('refuses %s', (_, alphabet) => {
    expect(() => generateSecret(32, alphabet)).toThrow(
      'a secret alphabet needs at least two distinct characters',
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a length of %p', (length) => {
    expect(() => generateSecret(length, SECRET_ALPHABETS.hex)).toThrow(
      'a secret needs a positive whole length',
    );
  });
});

describe('webhook signatures', () => {
  const secret = 'whsec-3b1f9c2a7d';
  const timestamp = 1_767_225_600;
  const body = '{"event":"credential.rotated","credentialId":"pg/etl","versionId":"v7"}';

  it('is v1= and the hex HMAC-SHA-256 of "<timestamp>.<body>" under the secret', () => {
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(Buffer.from(`${timestamp}.${body}`, 'utf8'))
      .digest('hex');

    expect(webhookSignature(secret, timestamp, body)).toBe(`v1=${expected}`);
    expect(webhookSignature(secret, timestamp, body)).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('verifies the signature it makes', () => {
    expect(
      verifyWebhookSignature(secret, timestamp, body, webhookSignature(secret, timestamp, body)),
    ).toBe(true);
  });

  it('refuses a signature after the body, the timestamp or the secret changed', () => {
    const signature = webhookSignature(secret, timestamp, body);

    expect(verifyWebhookSignature(secret, timestamp, body.replace('v7', 'v8'), signature)).toBe(
      false,
    );
    expect(verifyWebhookSignature(secret, timestamp + 1, body, signature)).toBe(false);
    expect(verifyWebhookSignature(`${secret}x`, timestamp, body, signature)).toBe(false);
  });

  it('refuses a signature of another length without throwing', () => {
    const signature = webhookSignature(secret, timestamp, body);

    for (const given of [
      '',
      'v1=',
      signature.slice(0, -1),
      `${signature}0`,
      signature.slice(3),
      'é'.repeat(67),
    ]) {
      expect(verifyWebhookSignature(secret, timestamp, body, given)).toBe(false);
    }
  });
});

interface Received {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('postSignedWebhook', () => {
  const secret = 'whsec-loopback-6e41d0';
  let server: Server;
  let origin: string;
  let received: Received[];
  let answer: { status: number; location?: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
        res.end(`answered ${answer.status}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    received = [];
    answer = { status: 204 };
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  it('posts the event as JSON with a timestamp and a signature the receiver can verify', async () => {
    const event = { event: 'credential.rotated', credentialId: 'pg/etl', versionId: 'v7' };
    const now = Date.parse('2026-01-01T00:00:05.900Z');

    await postSignedWebhook(`${origin}/hooks/rotated`, secret, event, now);

    expect(received).toHaveLength(1);
    const [{ method, url, headers, body }] = received;
    expect(method).toBe('POST');
    expect(url).toBe('/hooks/rotated');
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toEqual(event);
    expect(headers[TIMESTAMP_HEADER]).toBe(String(Math.floor(now / 1000)));
    const signature = String(headers[SIGNATURE_HEADER]);
    expect(verifyWebhookSignature(secret, Number(headers[TIMESTAMP_HEADER]), body, signature)).toBe(
      true,
    );
    expect(
      verifyWebhookSignature('another-secret', Number(headers[TIMESTAMP_HEADER]), body, signature),
    ).toBe(false);
  });

  it('throws an error naming the status, and not the secret, when the receiver does not answer 2xx', async () => {
    for (const status of [400, 500, 503]) {
      answer = { status };

      const error = await rejectionOf(
        postSignedWebhook(`${origin}/hooks/rotated?token=abc`, secret, { n: 1 }),
      );

      expect(error.message).toBe(`webhook ${origin} answered ${status}`);
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('token=abc');
    }
    expect(received).toHaveLength(3);
  });

  it('does not follow a redirect, so the signed event goes nowhere else', async () => {
    answer = { status: 307, location: `${origin}/elsewhere` };

    const error = await rejectionOf(postSignedWebhook(`${origin}/hooks/rotated`, secret, { n: 1 }));

    expect(error.message).not.toContain(secret);
    expect(received.map((request) => request.url)).toEqual(['/hooks/rotated']);
  });
});
