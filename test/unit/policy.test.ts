import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import {
  evaluateRequest,
  PolicyView,
  type AccessRequestInput,
  type Evaluation,
} from '../../domain/access';
import { FailureType } from '../../domain/failures';
import {
  MAX_GRANT_MS,
  policyJsonSchema,
  validatePolicy,
  type Policy,
  type PolicyInput,
  type PolicyProblem,
} from '../../domain/policy';

const root = resolve(__dirname, '..', '..');
const HOUR = 3_600_000;

/** A small valid policy; tests copy it and change the part they are about. */
function basePolicy(): Required<PolicyInput> {
  return {
    version: 1,
    settings: {},
    identities: [
      { id: 'alice', logins: { pg: 'alice_ro' } },
      { id: 'bob' },
      { id: 'carol' },
      { id: 'dana' },
      { id: 'erin' },
      { id: 'ci-bot', kind: 'non-human', owner: 'alice' },
    ],
    groups: [
      { id: 'approvers', members: ['bob', 'carol'] },
      { id: 'security', members: ['dana', 'erin'] },
      { id: 'pair', members: ['alice', 'bob'] },
    ],
    systems: [{ id: 'pg', type: 'postgres', connection: 'env:PG_URL' }],
    credentials: [],
    campaigns: [],
    entitlements: [
      {
        id: 'pg/analyst',
        system: 'pg',
        role: 'analyst',
        maxDuration: '1h',
        approval: { required: 1, from: ['approvers'] },
      },
      {
        id: 'pg/admin',
        system: 'pg',
        role: 'admin',
        riskTier: 'high',
        maxDuration: '2h',
        approval: { required: 2, from: ['approvers', 'security'] },
      },
      {
        id: 'pg/readonly',
        system: 'pg',
        role: 'reader',
        riskTier: 'low',
        maxDuration: '30m',
        requireReason: false,
        approval: { required: 0 },
      },
      {
        id: 'pg/paired',
        system: 'pg',
        role: 'writer',
        maxDuration: '1h',
        approval: { required: 2, from: ['pair'] },
      },
    ],
  };
}

function problemsOf(document: unknown): PolicyProblem[] {
  const result = validatePolicy(document);
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.problems;
}

function validPolicy(document: unknown): Policy {
  const result = validatePolicy(document);
  if (!result.ok) throw new Error(`expected a valid policy: ${JSON.stringify(result.problems)}`);
  return result.policy;
}

function refusalOf(evaluation: Evaluation) {
  if (evaluation.ok) throw new Error('expected the request to be refused');
  return { type: evaluation.type, message: evaluation.message };
}

describe('validatePolicy', () => {
  it('accepts the example policy in the repository', () => {
    const document = parse(readFileSync(join(root, 'keyward.example.yaml'), 'utf8'));

    const result = validatePolicy(document);

    expect(result).toMatchObject({ ok: true });
  });

  it('accepts the test policy and fills in defaults', () => {
    const policy = validPolicy(basePolicy());

    expect(policy.settings).toEqual({
      approvalWindow: 4 * HOUR,
      expiryWarning: 15 * 60_000,
      adminGroup: 'security',
      incidentGroup: 'security',
      incidentAlertAfter: 60_000,
      massRevocationShare: 0.2,
      campaignRemediationRetry: 7 * 24 * HOUR,
    });
    expect(policy.identities[1]).toMatchObject({
      id: 'bob',
      kind: 'human',
      riskTier: 'low',
      logins: {},
    });
    expect(policy.entitlements[0]).toMatchObject({
      maxDuration: HOUR,
      riskTier: 'medium',
      requireReason: true,
    });
  });

  it('lists every problem with its path when a policy has several mistakes', () => {
    const document = basePolicy();
    document.entitlements[0].maxDuration = 'soon';
    document.groups[0].members = ['bob', 'zed'];
    document.systems[0].connection = 'postgres://user:pw@host/db';

    const problems = problemsOf(document);

    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: 'entitlements[0].maxDuration',
          message: '"soon" is not a duration such as 30m, 4h or 7d',
        },
        { path: 'groups[0].members[1]', message: 'unknown identity "zed"' },
        { path: 'systems[0].connection', message: expect.stringContaining('secret reference') },
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it('never repeats an inline connection string in its problems', () => {
    const document = basePolicy();
    document.systems[0].connection = 'postgres://user:pw@host/db';

    const text = JSON.stringify(problemsOf(document));

    expect(text).toContain('systems[0].connection');
    for (const fragment of ['postgres://', 'user:pw', 'pw@host', 'host/db'])
      expect(text).not.toContain(fragment);
  });

  it('refuses duplicate ids of every kind', () => {
    const document = basePolicy();
    document.identities.push({ id: 'bob' });
    document.groups.push({ id: 'security', members: ['dana'] });
    document.systems.push({ id: 'pg', type: 'postgres', connection: 'file:/run/secrets/pg' });
    document.entitlements.push({ ...document.entitlements[0] });

    expect(problemsOf(document)).toEqual([
      { path: 'identities[6].id', message: 'duplicate id "bob"' },
      { path: 'groups[3].id', message: 'duplicate id "security"' },
      { path: 'systems[1].id', message: 'duplicate id "pg"' },
      { path: 'entitlements[4].id', message: 'duplicate id "pg/analyst"' },
    ]);
  });

  it('refuses two entitlements that grant the same role on one system', () => {
    const document = basePolicy();
    document.entitlements.push({
      ...document.entitlements[0],
      id: 'pg/analyst-long',
      maxDuration: '8h',
    });

    expect(problemsOf(document)).toEqual([
      {
        path: 'entitlements[4].role',
        message: 'role "analyst" on pg is already granted by pg/analyst',
      },
    ]);
  });

  it('refuses a non-human identity without an owner', () => {
    const document = basePolicy();
    document.identities[5] = { id: 'ci-bot', kind: 'non-human' };

    expect(problemsOf(document)).toEqual([
      { path: 'identities[5].owner', message: 'a non-human identity needs an owner' },
    ]);
  });

  it('refuses unknown owners, managers, login systems and entitlement systems', () => {
    const document = basePolicy();
    document.identities[5] = { id: 'ci-bot', kind: 'non-human', owner: 'nobody' };
    document.identities[1] = { id: 'bob', manager: 'ghost', logins: { mysql: 'bob' } };
    document.entitlements[1].system = 'mysql';

    expect(problemsOf(document)).toEqual(
      expect.arrayContaining([
        { path: 'identities[5].owner', message: 'unknown identity "nobody"' },
        { path: 'identities[1].manager', message: 'unknown identity "ghost"' },
        { path: 'identities[1].logins.mysql', message: 'unknown system "mysql"' },
        { path: 'entitlements[1].system', message: 'unknown system "mysql"' },
      ]),
    );
  });

  it('allows auto-approval only for low-risk entitlements', () => {
    const document = basePolicy();
    document.entitlements[1].approval = { required: 0, from: [] };

    expect(problemsOf(document)).toEqual([
      {
        path: 'entitlements[1].approval.required',
        message: 'auto-approval (0 approvers) is only allowed for low-risk entitlements, not high',
      },
    ]);
  });

  it('refuses a quorum larger than the membership of the approver groups', () => {
    const exact = basePolicy();
    const tooMany = basePolicy();
    // bob is in both groups and counts once, so the groups have three members between them.
    exact.entitlements[0].approval = { required: 3, from: ['approvers', 'pair'] };
    tooMany.entitlements[0].approval = { required: 4, from: ['approvers', 'pair'] };

    expect(validatePolicy(exact).ok).toBe(true);
    expect(problemsOf(tooMany)).toEqual([
      {
        path: 'entitlements[0].approval',
        message: 'needs 4 approvers but its groups have only 3 members',
      },
    ]);
  });

  it('refuses approver groups that do not exist', () => {
    const document = basePolicy();
    document.entitlements[0].approval = { required: 1, from: ['approvers', 'dbas'] };

    expect(problemsOf(document)).toEqual([
      { path: 'entitlements[0].approval.from[1]', message: 'unknown group "dbas"' },
    ]);
  });

  it('refuses an admin group that does not exist', () => {
    const document = { ...basePolicy(), settings: { adminGroup: 'admins' } };

    expect(problemsOf(document)).toEqual([
      { path: 'settings.adminGroup', message: 'unknown group "admins"' },
    ]);
  });

  it('refuses durations over 90 days and accepts exactly 90 days', () => {
    const tooLong = basePolicy();
    tooLong.entitlements[0].maxDuration = '91d';
    const window = { ...basePolicy(), settings: { approvalWindow: '2161h' } };
    const longest = basePolicy();
    longest.entitlements[0].maxDuration = '90d';

    expect(problemsOf(tooLong)).toEqual([
      { path: 'entitlements[0].maxDuration', message: '"91d" is longer than the limit of 90d' },
    ]);
    expect(problemsOf(window)).toEqual([
      { path: 'settings.approvalWindow', message: '"2161h" is longer than the limit of 90d' },
    ]);
    expect(validPolicy(longest).entitlements[0].maxDuration).toBe(MAX_GRANT_MS);
  });

  it('refuses fields it does not know', () => {
    const document = { ...basePolicy(), owners: [] };

    expect(problemsOf(document)).toEqual([
      { path: '(root)', message: expect.stringContaining('owners') },
    ]);
  });
});

describe('policyJsonSchema', () => {
  it('matches the committed keyward.schema.json', () => {
    const committed: unknown = JSON.parse(readFileSync(join(root, 'keyward.schema.json'), 'utf8'));
    const current: unknown = JSON.parse(JSON.stringify(policyJsonSchema()));

    if (!isDeepStrictEqual(committed, current)) {
      throw new Error(
        'keyward.schema.json no longer matches the policy schema in domain/policy.ts; ' +
          'regenerate it with `npx keyward schema > keyward.schema.json`',
      );
    }
  });

  it('describes durations as text and forbids unknown top-level fields', () => {
    const schema = policyJsonSchema() as {
      additionalProperties?: unknown;
      required?: string[];
      properties: Record<string, unknown>;
    };

    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'identities']));
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        'campaigns',
        'credentials',
        'entitlements',
        'groups',
        'identities',
        'settings',
        'systems',
        'version',
      ].sort(),
    );
  });
});

describe('evaluateRequest', () => {
  const view = new PolicyView(validPolicy(basePolicy()));
  const request = (input: Partial<AccessRequestInput>): AccessRequestInput => ({
    requester: 'alice',
    entitlementId: 'pg/analyst',
    durationMs: HOUR,
    reason: 'investigate INC-7',
    ...input,
  });

  it('refuses an unknown identity', () => {
    expect(refusalOf(evaluateRequest(view, request({ requester: 'zed' })))).toEqual({
      type: FailureType.InvalidInput,
      message: 'unknown identity "zed"',
    });
  });

  it('refuses an unknown entitlement', () => {
    expect(refusalOf(evaluateRequest(view, request({ entitlementId: 'pg/root' })))).toEqual({
      type: FailureType.InvalidInput,
      message: 'unknown entitlement "pg/root"',
    });
  });

  it('refuses a duration that is not a positive whole number of milliseconds', () => {
    for (const durationMs of [0, -HOUR, 1.5, Number.NaN]) {
      expect(refusalOf(evaluateRequest(view, request({ durationMs })))).toMatchObject({
        type: FailureType.InvalidInput,
      });
    }
  });

  it('refuses a duration over the maximum and names both durations', () => {
    expect(refusalOf(evaluateRequest(view, request({ durationMs: 2 * HOUR })))).toEqual({
      type: FailureType.PolicyViolation,
      message: '2h is longer than the 1h that pg/analyst allows',
    });
  });

  it('accepts exactly the maximum duration', () => {
    expect(evaluateRequest(view, request({ durationMs: HOUR })).ok).toBe(true);
  });

  it('refuses an empty or blank reason when the entitlement requires one', () => {
    for (const reason of ['', '   ']) {
      expect(refusalOf(evaluateRequest(view, request({ reason })))).toEqual({
        type: FailureType.PolicyViolation,
        message: 'pg/analyst requires a reason',
      });
    }
  });

  it('accepts an empty reason when the entitlement does not require one', () => {
    const input = request({ entitlementId: 'pg/readonly', durationMs: 600_000, reason: '' });

    const evaluation = evaluateRequest(view, input);

    expect(evaluation).toMatchObject({ ok: true, plan: { required: 0, eligibleApprovers: [] } });
  });

  it('leaves the requester out of the eligible approvers', () => {
    const evaluation = evaluateRequest(view, request({ requester: 'bob' }));

    expect(evaluation).toMatchObject({
      ok: true,
      plan: { eligibleApprovers: ['carol'], required: 1 },
    });
  });

  it('refuses a request whose quorum cannot be met without the requester', () => {
    expect(refusalOf(evaluateRequest(view, request({ entitlementId: 'pg/paired' })))).toEqual({
      type: FailureType.PolicyViolation,
      message: 'pg/paired needs 2 approvers besides the requester, but only 1 are eligible',
    });
  });

  it('plans a request with the login mapped for the system', () => {
    const evaluation = evaluateRequest(
      view,
      request({ entitlementId: 'pg/admin', durationMs: 2 * HOUR }),
    );

    expect(evaluation).toEqual({
      ok: true,
      plan: {
        entitlementId: 'pg/admin',
        expiryWarningMs: 15 * 60_000,
        systemId: 'pg',
        role: 'admin',
        login: 'alice_ro',
        riskTier: 'high',
        durationMs: 2 * HOUR,
        required: 2,
        approverGroups: ['approvers', 'security'],
        eligibleApprovers: ['bob', 'carol', 'dana', 'erin'],
        admins: ['dana', 'erin'],
        approvalWindowMs: 4 * HOUR,
      },
    });
  });

  it('uses the identity id as the login when the system is not mapped', () => {
    const evaluation = evaluateRequest(view, request({ requester: 'carol' }));

    expect(evaluation).toMatchObject({
      ok: true,
      plan: { login: 'carol', eligibleApprovers: ['bob'] },
    });
  });

  it('plans the same request from the slice of the policy that the request depends on', () => {
    const input = request({ entitlementId: 'pg/admin', durationMs: HOUR });
    const slice = view.sliceFor('alice', 'pg/admin');

    expect(slice.identities.map((i) => i.id).sort()).toEqual([
      'alice',
      'bob',
      'carol',
      'dana',
      'erin',
    ]);
    expect(evaluateRequest(new PolicyView(slice), input)).toEqual(evaluateRequest(view, input));
  });
});

describe('PolicyView', () => {
  const view = new PolicyView(validPolicy(basePolicy()));

  it('knows the admins from the admin group', () => {
    expect(view.isAdmin('dana')).toBe(true);
    expect(view.isAdmin('alice')).toBe(false);
    expect(view.members('no-such-group')).toEqual([]);
  });
});
