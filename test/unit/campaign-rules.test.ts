import { PolicyView } from '../../domain/access';
import {
  decisionProblem,
  groupMemberFor,
  needsConfirmation,
  reasonProblem,
  ReviewerAssigner,
} from '../../domain/campaign';
import type { ReviewerRule } from '../../domain/policy';
import { occurrenceId } from '../../activities/campaign-launch';
import { validatePolicy } from '../../domain/policy';
import type { PolicyInput } from '../../domain/policy';
import { ReviewLinkSigner } from '../../integrations/email/review-links';
import { LinkSigner } from '../../integrations/email/links';
import { parseScope, parseShare } from '../../cli/commands/campaign';

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
      { id: 'panel', members: ['mia', 'rita', 'dana'] },
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
  const reviewerFor = (identity: string, rule: ReviewerRule) =>
    new ReviewerAssigner(view, rule, 'fallback').reviewerFor(identity);

  it('gives an item to the manager, the owner or the group, never to the identity itself', () => {
    expect(reviewerFor('alice', 'manager')).toBe('mia');
    expect(reviewerFor('svc', 'owner')).toBe('alice');
    expect(reviewerFor('alice', 'group:leads')).toBe('mia');
    expect(reviewerFor('mia', 'group:leads')).toBe('rita');
  });

  it("shares a group's items out among its members instead of giving them all to the first", () => {
    const assigner = new ReviewerAssigner(view, 'group:panel', 'fallback');
    const reviewers = ['alice', 'svc', 'alice', 'svc', 'alice', 'svc'].map((id) =>
      assigner.reviewerFor(id),
    );
    const counts = new Map<string, number>();
    for (const reviewer of reviewers) counts.set(reviewer!, (counts.get(reviewer!) ?? 0) + 1);
    expect(counts).toEqual(
      new Map([
        ['mia', 2],
        ['rita', 2],
        ['dana', 2],
      ]),
    );
    // A member's own access goes to the other members only.
    const own = new ReviewerAssigner(view, 'group:panel', 'fallback');
    expect(['mia', 'mia', 'mia', 'mia'].map((id) => own.reviewerFor(id)).sort()).toEqual([
      'dana',
      'dana',
      'rita',
      'rita',
    ]);
  });

  it('spreads escalations to a group over its members, the same member for the same reviewer', () => {
    const picks = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((key) =>
      groupMemberFor(view, 'panel', 'nobody', key),
    );
    expect(new Set(picks).size).toBeGreaterThan(1);
    expect(groupMemberFor(view, 'panel', 'nobody', 'r1')).toBe(picks[0]);
    expect(groupMemberFor(view, 'panel', 'mia', 'r1')).not.toBe('mia');
    expect(groupMemberFor(view, 'leads', 'mia', 'r1')).toBeUndefined();
  });

  it('passes over service accounts: only people review access', () => {
    const robots = viewOf(
      policy({
        identities: [
          { id: 'alice', manager: 'bot' },
          { id: 'bot', kind: 'non-human', owner: 'rita' },
          { id: 'svc', kind: 'non-human', owner: 'bot' },
          { id: 'rita' },
        ],
        groups: [
          { id: 'fallback', members: ['bot', 'rita'] },
          { id: 'security', members: ['rita'] },
        ],
      }),
    );
    const assigner = new ReviewerAssigner(robots, 'owner', 'fallback');
    expect(['alice', 'svc', 'alice'].map((id) => assigner.reviewerFor(id))).toEqual([
      'rita',
      'rita',
      'rita',
    ]);
    expect(groupMemberFor(robots, 'fallback', 'nobody', 'any')).toBe('rita');
  });

  it('names an occurrence of a recurring campaign after its due time, to the second, within 63 characters', () => {
    expect(occurrenceId('quarterly', '2027-01-01T09:00:05.000Z')).toBe('quarterly-20270101T090005');
    const long = `${'a'.repeat(60)}`;
    const [one, two] = [`${long}-x`, `${long}-y`].map((id) =>
      occurrenceId(id, '2027-01-01T09:00:00Z'),
    );
    expect(one).not.toBe(two);
    expect(one.length).toBeLessThanOrEqual(63);
    expect(one.endsWith('-20270101T090000')).toBe(true);
  });

  it('falls back to the fallback group when nobody is named', () => {
    expect(reviewerFor('mia', 'manager')).toBe('rita');
    expect(reviewerFor('unknown-login', 'manager')).toBe('rita');
    expect(reviewerFor('rita', 'manager')).toBeUndefined();
  });

  it('refuses decisions on one’s own access, by strangers and twice', () => {
    const item = { seq: 1, identity: 'alice', decided: false };
    expect(decisionProblem(item, 'mia', 'mia', undefined)).toBeUndefined();
    expect(decisionProblem(item, 'alice', 'mia', undefined)).toMatch(/own access/);
    expect(decisionProblem(item, 'rita', 'mia', undefined)).toMatch(/not a reviewer/);
    expect(decisionProblem(item, 'rita', 'mia', 'rita')).toBeUndefined();
    expect(
      decisionProblem({ ...item, delegate: 'dana' }, 'dana', 'mia', undefined),
    ).toBeUndefined();
    // Handed over: the reviewer no longer decides what they delegated.
    expect(decisionProblem({ ...item, delegate: 'dana' }, 'mia', 'mia', undefined)).toBe(
      'item 1 was delegated to dana; it is theirs to decide',
    );
    expect(decisionProblem({ ...item, decided: true }, 'mia', 'mia', undefined)).toMatch(
      /already decided/,
    );
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
      policy({
        campaigns: [
          { id: 'q', name: 'Quarterly', deadline: '14d', remind: ['3d'], cron: '0 9 1 */3 *' },
        ],
      }),
    );
    expect(good.ok).toBe(true);
    const bad = validatePolicy(
      policy({
        settings: { campaignFallbackGroup: 'nobody' },
        campaigns: [
          {
            id: 'q',
            name: 'Q',
            deadline: '2d',
            remind: ['3d'],
            every: '1d',
            reviewers: 'group:none',
          },
        ],
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
    const other = Buffer.from(JSON.stringify({ ...claims, reviewer: 'dana' })).toString(
      'base64url',
    );
    expect(signer.verify(`${other}.${mac}`)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(signer.verify(`${body}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(signer.sign({ ...claims, exp: 1 }))).toEqual({
      ok: false,
      reason: 'expired',
    });
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
    expect([parseShare('0.2'), parseShare('.5'), parseShare('1'), parseShare('0')]).toEqual([
      0.2, 0.5, 1, 0,
    ]);
    for (const bad of ['20%', '1.5', 'half', '-0.1', '']) {
      expect(() => parseShare(bad)).toThrow(`"${bad}" is not a share from 0 to 1, such as 0.2`);
    }
  });
});
