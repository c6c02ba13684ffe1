import { randomBytes } from 'node:crypto';
import { LinkSigner } from '../../integrations/email/links';

const key = randomBytes(32);
const signer = new LinkSigner(key);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3_600;
const claims = () => ({
  requestId: 'req-1',
  approver: 'bob',
  decision: 'approve' as const,
  exp: inAnHour(),
});

/** The same text with one character of the signature changed. */
function flipSignature(token: string, at: number): string {
  const [body, mac] = token.split('.');
  return `${body}.${mac.slice(0, at)}${mac[at] === 'A' ? 'B' : 'A'}${mac.slice(at + 1)}`;
}

describe('LinkSigner', () => {
  test('verifies what it signed and gives back the claims with a nonce', () => {
    const signed = claims();
    const verdict = signer.verify(signer.sign(signed));
    expect(verdict).toEqual({
      ok: true,
      claims: { ...signed, nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) },
    });
  });

  test('verifies with a second signer built from the same key, as the server does for the worker', () => {
    expect(new LinkSigner(Buffer.from(key)).verify(signer.sign(claims())).ok).toBe(true);
  });

  test('makes every link unique, even for the same claims', () => {
    const same = claims();
    const tokens = new Set(Array.from({ length: 20 }, () => signer.sign(same)));
    expect(tokens.size).toBe(20);
  });

  test('refuses a link whose signature was changed anywhere', () => {
    const token = signer.sign(claims());
    const macLength = token.split('.')[1].length;
    for (const at of [0, 10, macLength - 1]) {
      expect(signer.verify(flipSignature(token, at))).toEqual({
        ok: false,
        reason: 'bad-signature',
      });
    }
  });

  test('refuses a link whose claims were changed under the original signature', () => {
    const [body, mac] = signer.sign(claims()).split('.');
    const original = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    for (const change of [
      { decision: 'deny' },
      { approver: 'mallory' },
      { exp: original.exp + 86_400 },
    ]) {
      const forged = Buffer.from(JSON.stringify({ ...original, ...change })).toString('base64url');
      expect(signer.verify(`${forged}.${mac}`)).toEqual({ ok: false, reason: 'bad-signature' });
    }
  });

  test('refuses a link signed with another key', () => {
    const foreign = new LinkSigner(randomBytes(32)).sign(claims());
    expect(signer.verify(foreign)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('refuses a link after its expiry and accepts it up to that second', () => {
    const exp = inAnHour();
    const token = signer.sign({ ...claims(), exp });
    expect(signer.verify(token, exp * 1000).ok).toBe(true);
    expect(signer.verify(token, exp * 1000 + 1)).toEqual({ ok: false, reason: 'expired' });
    const past = signer.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 1 });
    expect(signer.verify(past)).toEqual({ ok: false, reason: 'expired' });
  });

  test('calls incomplete, over-long or extra-part links malformed', () => {
    const token = signer.sign(claims());
    const [body, mac] = token.split('.');
    for (const bad of [
      '',
      body,
      `${body}.`,
      `.${mac}`,
      `${token}.extra`,
      `${body}.${mac}${'A'.repeat(2_000)}`,
    ]) {
      expect(signer.verify(bad)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
