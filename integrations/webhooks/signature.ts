import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * keyward's webhook signature, in both directions: HMAC-SHA-256 over "<unix seconds>.<raw body>"
 * with a shared secret, sent as `keyward-timestamp` and `keyward-signature: v1=<hex>`. Binding
 * the timestamp lets a receiver refuse replays older than its tolerance.
 */
export const TIMESTAMP_HEADER = 'keyward-timestamp';
export const SIGNATURE_HEADER = 'keyward-signature';

export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** True when `signature` is the one `secret` makes for this timestamp and body, compared in constant time. */
export function verifyWebhookSignature(
  secret: string,
  timestamp: number,
  body: string,
  signature: string,
): boolean {
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Posts a signed JSON event. Anything but a 2xx answer throws, naming the status, so the caller
 * retries; the secret is never part of what is thrown.
 */
export async function postSignedWebhook(
  url: string,
  secret: string,
  event: unknown,
  now = Date.now(),
): Promise<void> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(now / 1000);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'keyward',
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
    },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`webhook ${new URL(url).origin} answered ${response.status}`);
}
