import { shortestCronGapMs } from '../../domain/campaign-fields';
import { CampaignSpecSchema, specFromDefinition } from '../../domain/campaign-spec';
import { CampaignDefinitionSchema, formatPath, validatePolicy } from '../../domain/policy';
import type { PolicyInput } from '../../domain/policy';
import { NewCampaign } from '../../server/campaign-input';

const DAY = 86_400_000;

function policy(campaigns: unknown[]): PolicyInput {
  return {
    version: 1,
    identities: [{ id: 'dana' }, { id: 'rita' }],
    groups: [
      { id: 'security', members: ['dana'] },
      { id: 'fallback', members: ['rita'] },
    ],
    systems: [{ id: 'pg', type: 'postgres', connection: 'env:PG' }],
    campaigns: campaigns as PolicyInput['campaigns'],
  };
}

/** Each problem as "path: message", for a campaign the API is asked to start. */
function apiProblems(body: Record<string, unknown>): string[] {
  const parsed = NewCampaign.safeParse({ name: 'Q1', ...body });
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

/** The same for a definition in the policy, with paths inside the definition. */
function policyProblems(definition: Record<string, unknown>): string[] {
  const result = validatePolicy(policy([{ id: 'q', name: 'Q1', ...definition }]));
  return result.ok
    ? []
    : result.problems.map((p) => `${p.path.replace(/^campaigns\[0\]\.?/, '')}: ${p.message}`);
}

describe('the rules every campaign passes, started by an admin or defined in the policy', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'a reminder as long as the deadline',
      { deadline: '3d', remind: ['1d', '3d'] },
      'remind[1]: 3d must be shorter',
    ],
    [
      'an escalation after the deadline',
      { deadline: '3d', escalateAfter: '4d' },
      'escalateAfter: 4d must be shorter',
    ],
    [
      'the same lead time twice',
      { deadline: '3d', remind: ['1d', '24h'] },
      'remind[1]: 1d is already a reminder',
    ],
    [
      'more than ten reminders',
      {
        deadline: '30d',
        remind: ['1d', '2d', '3d', '4d', '5d', '6d', '7d', '8d', '9d', '10d', '11d'],
      },
      'remind: Too big',
    ],
    ['a deadline beyond a year', { deadline: '400d' }, 'deadline: "400d" is longer than the limit'],
    ['a field nobody knows', { deadline: '3d', owner: 'dana' }, 'Unrecognized key: "owner"'],
    ['a duration as a number', { deadline: 3 }, 'deadline: Invalid input: expected string'],
    [
      'a share above one',
      { deadline: '3d', massRevocationShare: 5 },
      'massRevocationShare: Too big',
    ],
    [
      'a name that hides text',
      { name: 'Q1\u202e', deadline: '3d' },
      'name: must not contain control characters',
    ],
  ];

  it.each(cases)('refuses %s with the field named', (_, body, problem) => {
    expect(apiProblems(body).join('\n')).toContain(problem);
    expect(policyProblems(body).join('\n')).toContain(problem);
  });

  it('reads the API remind list as the CLI sends it, with each lead time named by its place', () => {
    expect(apiProblems({ deadline: '3d', remind: '1d, 2d' })).toEqual([]);
    expect(apiProblems({ deadline: '3d', remind: '1d,5d' })).toEqual([
      'remind[1]: 5d must be shorter than the deadline (3d)',
    ]);
  });

  it('gives a definition the fields a started campaign has, so its runs can use them', () => {
    const definition = CampaignDefinitionSchema.parse({
      id: 'q',
      name: 'Quarterly',
      deadline: '14d',
      fallbackGroup: 'fallback',
      massRevocationShare: 0.5,
      cron: '0 9 1 1,4,7,10 *',
    });
    expect(specFromDefinition(definition)).toMatchObject({
      fallbackGroup: 'fallback',
      massRevocationShare: 0.5,
    });
    expect(policyProblems({ deadline: '3d', fallbackGroup: 'nobody' })).toEqual([
      'fallbackGroup: unknown group "nobody"',
    ]);
  });

  it('refuses a scope naming a system or entitlement the policy does not have', () => {
    expect(
      policyProblems({
        deadline: '3d',
        scope: { systems: ['pg', 'pg-mian'], entitlements: ['pg/x'] },
      }),
    ).toEqual([
      'scope.systems[1]: unknown system "pg-mian"',
      'scope.entitlements[0]: unknown entitlement "pg/x"',
    ]);
  });

  it('still reads the specs stored before these rules, even one they would now refuse', () => {
    const stored = {
      name: 'Old',
      scope: { systems: [], entitlements: [], riskTiers: [], identityKinds: [] },
      reviewers: 'manager',
      deadlineMs: 2 * DAY,
      remindMs: [3 * DAY],
      default: 'keep',
    };
    expect(CampaignSpecSchema.parse(stored)).toEqual(stored);
  });
});

describe('recurring definitions', () => {
  it('refuses a run that would still be open when the next is due', () => {
    expect(policyProblems({ deadline: '7d', every: '7d' })).toEqual([
      'every: must be longer than the deadline (7d), or a run would start before the last ends',
    ]);
    expect(policyProblems({ deadline: '14d', cron: '0 9 * * 1' })).toEqual([
      'cron: fires 7d apart at its closest, not longer than the deadline (14d): a run would start before the last ends',
    ]);
    expect(policyProblems({ deadline: '6d', cron: '0 9 * * 1' })).toEqual([]);
  });

  it('measures a monthly cron by its shortest month, in UTC', () => {
    expect(shortestCronGapMs('0 9 1 * *', new Date('2027-06-15T00:00:00Z'))).toBe(28 * DAY);
    expect(policyProblems({ deadline: '28d', cron: '0 9 1 * *' })[0]).toMatch(
      /^cron: fires 28d apart/,
    );
    expect(policyProblems({ deadline: '27d', cron: '0 9 1 * *' })).toEqual([]);
  });

  it('takes one of every and cron, and leaves room in its name for the date of each run', () => {
    expect(policyProblems({ deadline: '1d', every: '7d', cron: '0 9 * * 1' })).toEqual([
      ': takes at most one of "every" or "cron"',
    ]);
    expect(policyProblems({ name: 'Q'.repeat(190), deadline: '1d', every: '7d' })).toEqual([
      'name: must be at most 187 characters, to leave room for the date each run adds',
    ]);
  });
});
