import type { RequestPlan } from '../../domain/access';
import { canonicalJson } from '../../domain/canonical';
import { formatDuration, parseDuration } from '../../domain/duration';
import { FailureType } from '../../domain/failures';
import {
  checkDecision,
  checkRevoke,
  JitStatus,
  quorumReached,
  type Decision,
  type JitState,
} from '../../domain/jit';

const plan: RequestPlan = {
  entitlementId: 'pg/admin',
  systemId: 'pg',
  role: 'admin',
  login: 'alice',
  riskTier: 'high',
  durationMs: 3_600_000,
  required: 2,
  approverGroups: ['approvers', 'security'],
  eligibleApprovers: ['bob', 'carol', 'dana'],
  admins: ['dana', 'erin'],
  approvalWindowMs: 4 * 3_600_000,
  expiryWarningMs: 15 * 60_000,
};

const approval = (approver: string): Decision => ({
  approver,
  decision: 'approve',
  at: '2026-12-01T10:05:00.000Z',
});

function stateWith(changes: Partial<JitState> = {}): JitState {
  return {
    requestId: 'req-1',
    requester: 'alice',
    reason: 'investigate INC-7',
    plan,
    status: JitStatus.PENDING,
    createdAt: '2026-12-01T10:00:00.000Z',
    approvalDeadline: '2999-01-01T00:00:00.000Z',
    approvals: [],
    ...changes,
  };
}

describe('checkDecision', () => {
  it('refuses a decision that arrives after the approval window, even before the expiry timer fired', () => {
    const state = stateWith();
    const afterDeadline = Date.parse(state.approvalDeadline) + 1;
    expect(checkDecision(state, { actor: 'bob', decision: 'approve' }, afterDeadline)).toEqual({
      type: 'AlreadyDecided',
      message: `the approval window of request ${state.requestId} has passed`,
    });
    expect(
      checkDecision(state, { actor: 'bob', decision: 'approve' }, afterDeadline - 2),
    ).toBeUndefined();
  });

  it('accepts an approval from an eligible approver', () => {
    expect(checkDecision(stateWith(), { actor: 'bob', decision: 'approve' })).toBeUndefined();
  });

  it('accepts a denial with a reason', () => {
    const input = { actor: 'carol', decision: 'deny', reason: 'not during the freeze' } as const;

    expect(checkDecision(stateWith(), input)).toBeUndefined();
  });

  it('refuses self-approval even when the requester is an eligible approver', () => {
    const state = stateWith({
      plan: { ...plan, eligibleApprovers: [...plan.eligibleApprovers, 'alice'] },
    });

    expect(checkDecision(state, { actor: 'alice', decision: 'approve' })).toEqual({
      type: FailureType.NotAllowed,
      message: 'alice cannot decide their own request',
    });
  });

  it('refuses an outsider and names the approver groups', () => {
    expect(checkDecision(stateWith(), { actor: 'mallory', decision: 'approve' })).toEqual({
      type: FailureType.NotAllowed,
      message:
        'mallory is not an approver for pg/admin (its approvers are the members of groups approvers, security)',
    });
  });

  it('says when a request has no approver group at all', () => {
    const state = stateWith({ plan: { ...plan, approverGroups: [], eligibleApprovers: [] } });

    expect(checkDecision(state, { actor: 'bob', decision: 'approve' })?.message).toContain(
      'the members of no group',
    );
  });

  it.each([
    JitStatus.DENIED,
    JitStatus.EXPIRED,
    JitStatus.CANCELLED,
    JitStatus.GRANTED,
    JitStatus.REVOKED,
  ])('refuses a decision on a request that is %s', (status) => {
    expect(checkDecision(stateWith({ status }), { actor: 'bob', decision: 'approve' })).toEqual({
      type: FailureType.AlreadyDecided,
      message: `request req-1 is already ${status.toLowerCase()}`,
    });
  });

  it('refuses a second approval from the same approver', () => {
    const state = stateWith({ approvals: [approval('bob')] });

    expect(checkDecision(state, { actor: 'bob', decision: 'approve' })).toEqual({
      type: FailureType.DuplicateDecision,
      message: 'bob has already approved request req-1',
    });
  });

  it('refuses an approval after the quorum is reached, while the request is still pending', () => {
    const state = stateWith({ approvals: [approval('bob'), approval('carol')] });

    expect(checkDecision(state, { actor: 'dana', decision: 'approve' })).toEqual({
      type: FailureType.AlreadyDecided,
      message: 'request req-1 is already approved',
    });
    expect(
      checkDecision(state, { actor: 'dana', decision: 'deny', reason: 'too late' })?.type,
    ).toBe(FailureType.AlreadyDecided);
  });

  it('refuses a denial without a reason', () => {
    for (const reason of [undefined, '', '  \n']) {
      expect(checkDecision(stateWith(), { actor: 'bob', decision: 'deny', reason })).toEqual({
        type: FailureType.InvalidInput,
        message: 'a denial needs a reason',
      });
    }
  });

  it('lets an approver who approved deny no further, but another approver may still deny', () => {
    const state = stateWith({ approvals: [approval('bob')] });

    expect(
      checkDecision(state, { actor: 'bob', decision: 'deny', reason: 'changed my mind' })?.type,
    ).toBe(FailureType.DuplicateDecision);
    expect(
      checkDecision(state, { actor: 'carol', decision: 'deny', reason: 'no' }),
    ).toBeUndefined();
  });
});

describe('checkRevoke', () => {
  it.each([JitStatus.PENDING, JitStatus.GRANTED])(
    'lets the requester end a %s request',
    (status) => {
      expect(checkRevoke(stateWith({ status }), { actor: 'alice' })).toBeUndefined();
    },
  );

  it('lets an admin end a request they did not make', () => {
    const state = stateWith({ status: JitStatus.GRANTED });

    expect(checkRevoke(state, { actor: 'erin', reason: 'incident' })).toBeUndefined();
  });

  it('refuses an outsider, even one who may approve', () => {
    for (const actor of ['mallory', 'bob']) {
      expect(checkRevoke(stateWith({ status: JitStatus.GRANTED }), { actor })).toEqual({
        type: FailureType.NotAllowed,
        message: `${actor} may not end request req-1`,
      });
    }
  });

  it.each([
    JitStatus.REVOKED,
    JitStatus.EXPIRED,
    JitStatus.DENIED,
    JitStatus.CANCELLED,
    JitStatus.FAILED,
  ])('refuses to end a request that is already %s', (status) => {
    const state = stateWith({ status, revokedAt: '2026-12-01T11:00:00.000Z' });

    for (const actor of ['alice', 'dana']) {
      expect(checkRevoke(state, { actor })).toEqual({
        type: FailureType.AlreadyDecided,
        message: `request req-1 is already ${status.toLowerCase()}`,
      });
    }
  });
});

describe('quorumReached', () => {
  it('counts distinct approvers against the required number', () => {
    expect(quorumReached(stateWith())).toBe(false);
    expect(quorumReached(stateWith({ approvals: [approval('bob')] }))).toBe(false);
    expect(quorumReached(stateWith({ approvals: [approval('bob'), approval('bob')] }))).toBe(false);
    expect(quorumReached(stateWith({ approvals: [approval('bob'), approval('carol')] }))).toBe(
      true,
    );
  });

  it('is reached at once when no approver is required', () => {
    expect(quorumReached(stateWith({ plan: { ...plan, required: 0 } }))).toBe(true);
  });
});

describe('parseDuration and formatDuration', () => {
  it('parses each unit', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration(' 4h ')).toBe(14_400_000);
  });

  it.each(['45s', '30m', '4h', '1d', '7d', '90d'])('formats %s back to the same text', (text) => {
    const ms = parseDuration(text);

    expect(ms).toBeDefined();
    expect(formatDuration(ms as number)).toBe(text);
  });

  it('formats compound durations in descending units and parses them back', () => {
    for (const ms of [90_000, 93_784_000, 86_400_000 + 60_000]) {
      const text = formatDuration(ms);
      const total = [...text.matchAll(/(\d+)([dhms])/g)].reduce(
        (sum, [, amount, unit]) => sum + Number(amount) * parseDuration(`1${unit}`)!,
        0,
      );

      expect(total).toBe(ms);
    }
    expect(formatDuration(93_784_000)).toBe('1d2h3m4s');
    // What formatDuration writes, parseDuration reads back.
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration(formatDuration(93_784_000))).toBe(93_784_000);
  });

  it('formats durations under a second in milliseconds', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(-5)).toBe('0ms');
  });

  const malformed = [
    '0m',
    '0s',
    '00h',
    '5x',
    '',
    '   ',
    '1.5h',
    '-1h',
    '4H',
    'h',
    '4',
    '4 h',
    '1e3s',
  ];
  const huge = ['9999999h', '1000000s', '99999999999999999999d'];

  it.each([...malformed, ...huge])('rejects %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('parses the largest accepted amount exactly', () => {
    const ms = parseDuration('999999d');

    expect(ms).toBe(999_999 * 86_400_000);
    expect(Number.isSafeInteger(ms)).toBe(true);
  });
});

describe('canonicalJson', () => {
  it('encodes objects the same whatever the order of their keys', () => {
    const a = canonicalJson({ b: 1, a: 'x', c: [1, 2] });
    const b = canonicalJson({ c: [1, 2], a: 'x', b: 1 });

    expect(a).toBe('{"a":"x","b":1,"c":[1,2]}');
    expect(b).toBe(a);
  });

  it('sorts keys at every depth and keeps array order', () => {
    const value = { z: { y: [{ b: 1, a: [3, { d: null, c: true }] }], x: {} }, a: [] };

    expect(canonicalJson(value)).toBe(
      '{"a":[],"z":{"x":{},"y":[{"a":[3,{"c":true,"d":null}],"b":1}]}}',
    );
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('drops undefined members and encodes undefined array items as null', () => {
    expect(canonicalJson({ a: 1, b: undefined, c: { d: undefined } })).toBe('{"a":1,"c":{}}');
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('rejects non-finite numbers wherever they are', () => {
    for (const value of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { a: [1, Number.NEGATIVE_INFINITY] },
    ]) {
      expect(() => canonicalJson(value)).toThrow(
        'canonical JSON cannot encode a non-finite number',
      );
    }
  });

  it('rejects values JSON cannot represent', () => {
    expect(() => canonicalJson({ a: () => 1 })).toThrow('canonical JSON cannot encode a function');
    expect(() => canonicalJson(10n)).toThrow('canonical JSON cannot encode a bigint');
  });

  it('keeps unicode text and keys intact and sorts keys by code unit', () => {
    const value = { ñ: '日本語', a: '😀 emoji', é: 'café', Z: 'upper' };
    const text = canonicalJson(value);

    expect(text).toBe('{"Z":"upper","a":"😀 emoji","é":"café","ñ":"日本語"}');
    expect(JSON.parse(text)).toEqual(value);
    expect(canonicalJson({ 'e\u0301': 1 })).not.toBe(canonicalJson({ é: 1 }));
  });
});
