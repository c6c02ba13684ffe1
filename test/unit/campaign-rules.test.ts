import { PolicyView } from '../../domain/access';
import { decisionProblem, needsConfirmation, reasonProblem, reviewerFor } from '../../domain/campaign';
import { validatePolicy } from '../../domain/policy';
import type { PolicyInput } from '../../domain/policy';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { LinkSigner } from '../../integrations/email/links';
import { parseScope } from '../../cli/commands/campaign';

function policy(changes: Partial<PolicyInput> = {}): PolicyInput {
  return {
    version: 1,
    settings: { campaignFallbackGroup: 'fallback' },
    identities: [
      { id: 'alice', manager: 'mia' },
      { id: 'mia' },
      { id: 'rita' },
      { id: 'dana' },
      { id: 'svc', kind: 'non-human', owner: 'alice' },
    ],
    groups: [
      { id: 'security', members: ['dana'] },
      { id: 'fallback', members: ['rita'] },
      { id: 'leads', members: ['mia'] },
    ],
    ...changes,
  };
}

const viewOf = (document: PolicyInput) => {
  const result = validatePolicy(document);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new PolicyView(result.policy);
};

describe('campaign reviewers', () => {
  const view = viewOf(policy());

  it('gives an item to the manager, the owner or the group, never to the identity itself', () => {
    expect(reviewerFor(view, 'alice', 'manager', 'fallback')).toBe('mia');
    expect(reviewerFor(view, 'svc', 'owner', 'fallback')).toBe('alice');
    expect(reviewerFor(view, 'alice', 'group:leads', 'fallback')).toBe('mia');
    expect(reviewerFor(view, 'mia', 'group:leads', 'fallback')).toBe('rita');
  });

  it('falls back to the fallback group when nobody is named', () => {
    expect(reviewerFor(view, 'mia', 'manager', 'fallback')).toBe('rita');
    expect(reviewerFor(view, 'unknown-login', 'manager', 'fallback')).toBe('rita');
    expect(reviewerFor(view, 'rita', 'manager', 'fallback')).toBeUndefined();
  });

  it('refuses decisions on one’s own access, by strangers and twice', () => {
    const item = { seq: 1, identity: 'alice', decided: false };
    expect(decisionProblem(item, 'mia', 'mia', undefined)).toBeUndefined();
    expect(decisionProblem(item, 'alice', 'mia', undefined)).toMatch(/own access/);
    expect(decisionProblem(item, 'rita', 'mia', undefined)).toMatch(/not a reviewer/);
    expect(decisionProblem(item, 'rita', 'mia', 'rita')).toBeUndefined();
    expect(decisionProblem({ ...item, delegate: 'dana' }, 'dana', 'mia', undefined)).toBeUndefined();
    expect(decisionProblem({ ...item, decided: true }, 'mia', 'mia', undefined)).toMatch(/already decided/);
    expect(reasonProblem('ok')).toBeUndefined();
    expect(reasonProblem('\u202eevil')).toMatch(/control characters/);
  });

  it('asks for confirmation only above the share', () => {
    expect(needsConfirmation(20, 100, 0.2)).toBe(false);
    expect(needsConfirmation(21, 100, 0.2)).toBe(true);
    expect(needsConfirmation(0, 0, 0.2)).toBe(false);
  });
});

describe('campaign definitions in the policy', () => {
  it('accepts a recurring definition and names the problems of a bad one', () => {
    const good = validatePolicy(
      policy({ campaigns: [{ id: 'q', name: 'Quarterly', deadline: '14d', remind: ['3d'], cron: '0 9 1 */3 *' }] }),
    );
    expect(good.ok).toBe(true);
    const bad = validatePolicy(
      policy({
        settings: { campaignFallbackGroup: 'nobody' },
        campaigns: [{ id: 'q', name: 'Q', deadline: '2d', remind: ['3d'], every: '1d', reviewers: 'group:none' }],
      }),
    );
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'settings.campaignFallbackGroup',
        'campaigns[0].every',
        'campaigns[0].reviewers',
        'campaigns[0].remind[0]',
      ]),
    );
  });
});

describe('review links', () => {
  const key = Buffer.alloc(32, 7);
  const signer = new ReviewLinkSigner(key);
  const claims = { campaignId: 'c1', reviewer: 'mia', exp: Math.floor(Date.now() / 1000) + 60 };

  it('verifies its own links and refuses altered, expired or foreign ones', () => {
    const token = signer.sign(claims);
    expect(signer.verify(token)).toEqual({ ok: true, claims });
    const [body, mac] = token.split('.');
    const other = Buffer.from(JSON.stringify({ ...claims, reviewer: 'dana' })).toString('base64url');
    expect(signer.verify(`${other}.${mac}`)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(signer.verify(`${body}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(signer.sign({ ...claims, exp: 1 }))).toEqual({ ok: false, reason: 'expired' });
    const approval = new LinkSigner(key).sign({
      requestId: 'r',
      approver: 'mia',
      decision: 'approve',
      exp: claims.exp,
    });
    expect(signer.verify(approval).ok).toBe(false);
  });
});

describe('the CLI scope filter', () => {
  it('reads repeated keys and refuses unknown ones', () => {
    expect(parseScope('system=pg,tier=high,tier=critical,kind=human')).toEqual({
      systems: ['pg'],
      riskTiers: ['high', 'critical'],
      identityKinds: ['human'],
    });
    expect(() => parseScope('owner=bob')).toThrow(/not a scope filter/);
  });
});
