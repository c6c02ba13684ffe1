import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** What an email decision link carries: one request, one approver, one decision, until `exp`. */
export interface LinkClaims {
  requestId: string;
  approver: string;
  decision: 'approve' | 'deny';
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Makes each link unique, and single-use once recorded. */
  nonce: string;
  /** Set on links that approve an incident's restore; `requestId` then names the incident. */
  kind?: 'incident-restore';
}

export type LinkVerdict =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

/**
 * Signs and checks decision links with an HMAC key derived from keyward's encryption key, so
 * the worker that mails links and the server that receives them share no extra secret.
 */
export class LinkSigner {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    this.key = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keyward email decision links', 32),
    );
  }

  sign(claims: Omit<LinkClaims, 'nonce'>): string {
    const body = Buffer.from(
      JSON.stringify({ ...claims, nonce: randomBytes(12).toString('base64url') }),
    ).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(token: string, nowMs = Date.now()): LinkVerdict {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || token.length > 2_000)
      return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: 'bad-signature' };
    let claims: LinkClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs)
      return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
