import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What a review-page link carries: one campaign, one reviewer, until `exp`. */
export interface ReviewLinkClaims {
  campaignId: string;
  reviewer: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type ReviewLinkVerdict =
  | { ok: true; claims: ReviewLinkClaims }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

/**
 * Signs and checks review-page links. The key is derived from keyward's encryption key under its own
 * label, so a decision link for a request can never pass as a review link, nor the other way round.
 * A review link is used many times (the page, then each form post) and so is not single-use;
 * it expires a day after the campaign's deadline.
 */
export class ReviewLinkSigner {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    this.key = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keyward campaign review links', 32),
    );
  }

  sign(claims: ReviewLinkClaims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(token: string, nowMs = Date.now()): ReviewLinkVerdict {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || token.length > 2_000)
      return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: 'bad-signature' };
    }
    let claims: ReviewLinkClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof claims.campaignId !== 'string' || typeof claims.reviewer !== 'string') {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs)
      return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  /** The review page's address for one reviewer. */
  link(publicUrl: string, claims: ReviewLinkClaims): string {
    return `${publicUrl}/review?token=${this.sign(claims)}`;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** Review links stay valid a day past the deadline, so a late click gets the "closed" page, not "expired". */
export const REVIEW_LINK_GRACE_S = 86_400;

/** A reviewer's claims for a campaign: the same every time, so a message rebuilt later links to the same page. */
export function reviewLinkClaims(
  campaignId: string,
  reviewer: string,
  deadlineAt: string,
): ReviewLinkClaims {
  return {
    campaignId,
    reviewer,
    exp: Math.floor(Date.parse(deadlineAt) / 1000) + REVIEW_LINK_GRACE_S,
  };
}
