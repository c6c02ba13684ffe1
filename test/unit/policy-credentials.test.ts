import {
  DEFAULT_OVERLAP_MS,
  overlapOf,
  validatePolicy,
  type Policy,
  type PolicyInput,
  type PolicyProblem,
} from '../../domain/policy';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

type CredentialInput = NonNullable<PolicyInput['credentials']>[number];

/** A small valid policy with one non-human identity to rotate; tests add the credentials they are about. */
function basePolicy(...credentials: CredentialInput[]): PolicyInput {
  return {
    version: 1,
    identities: [
      { id: 'alice' },
      { id: 'bob' },
      { id: 'ci-bot', kind: 'non-human', owner: 'alice' },
      { id: 'etl', kind: 'non-human', owner: 'alice', logins: { pg: 'etl_login' } },
    ],
    groups: [{ id: 'security', members: ['bob'] }],
    systems: [{ id: 'pg', type: 'postgres', connection: 'env:PG_URL' }],
    credentials,
  };
}

function singleLogin(changes: Partial<CredentialInput> = {}): CredentialInput {
  return {
    id: 'pg/ci-bot',
    identity: 'ci-bot',
    system: 'pg',
    strategy: 'single-login',
    every: '7d',
    ...changes,
  };
}

function alternating(changes: Partial<CredentialInput> = {}): CredentialInput {
  return {
    id: 'pg/etl',
    identity: 'etl',
    system: 'pg',
    strategy: 'alternating-logins',
    logins: ['etl_blue', 'etl_green'],
    every: '1d',
    ...changes,
  };
}

function validPolicy(document: unknown): Policy {
  const result = validatePolicy(document);
  if (!result.ok) throw new Error(`expected a valid policy: ${JSON.stringify(result.problems)}`);
  return result.policy;
}

function problemsOf(document: unknown): PolicyProblem[] {
  const result = validatePolicy(document);
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.problems;
}

describe('credentials in the policy', () => {
  it('accepts a single-login credential and fills in its defaults', () => {
    const policy = validPolicy(basePolicy(singleLogin()));

    expect(policy.credentials).toEqual([
      {
        id: 'pg/ci-bot',
        identity: 'ci-bot',
        system: 'pg',
        strategy: 'single-login',
        every: 7 * DAY,
        generator: { length: 32, alphabet: 'alphanumeric' },
        notify: [],
        webhooks: [],
      },
    ]);
  });

  it('accepts an alternating credential on a cron schedule with notify entries and a webhook', () => {
    const credential = alternating({
      every: undefined,
      cron: '0 3 * * 1',
      overlap: '2h',
      generator: { length: 48, alphabet: 'hex' },
      notify: ['bob', 'security'],
      webhooks: [{ url: 'https://consumer.example/rotated', secret: 'env:ETL_HOOK_KEY' }],
    });

    const [parsed] = validPolicy(basePolicy(credential)).credentials;

    expect(parsed).toMatchObject({
      strategy: 'alternating-logins',
      logins: ['etl_blue', 'etl_green'],
      cron: '0 3 * * 1',
      overlap: 2 * HOUR,
      generator: { length: 48, alphabet: 'hex' },
      notify: ['bob', 'security'],
    });
    expect(parsed.every).toBeUndefined();
  });

  it('accepts an interval of exactly 1m', () => {
    expect(validPolicy(basePolicy(singleLogin({ every: '1m' }))).credentials[0].every).toBe(MINUTE);
  });

  it.each<[string, CredentialInput, PolicyProblem]>([
    [
      'an unknown identity',
      singleLogin({ identity: 'ghost' }),
      { path: 'credentials[0].identity', message: 'unknown identity "ghost"' },
    ],
    [
      'a human identity',
      singleLogin({ identity: 'alice' }),
      {
        path: 'credentials[0].identity',
        message: 'alice is a person; keyward rotates the secrets of non-human identities',
      },
    ],
    [
      'an unknown system',
      alternating({ system: 'mysql' }),
      { path: 'credentials[0].system', message: 'unknown system "mysql"' },
    ],
    [
      'both every and cron',
      singleLogin({ cron: '0 3 * * *' }),
      { path: 'credentials[0]', message: 'needs exactly one of "every" or "cron"' },
    ],
    [
      'neither every nor cron',
      singleLogin({ every: undefined }),
      { path: 'credentials[0]', message: 'needs exactly one of "every" or "cron"' },
    ],
    [
      'an interval under 1m',
      singleLogin({ every: '59s' }),
      { path: 'credentials[0].every', message: 'must be at least 1m' },
    ],
    [
      'a cron minute out of range',
      singleLogin({ every: undefined, cron: '61 * * * *' }),
      {
        path: 'credentials[0].cron',
        message: expect.stringMatching(/^"61 \* \* \* \*" is not a cron expression: /),
      },
    ],
    [
      'a cron expression of four fields',
      singleLogin({ every: undefined, cron: '0 3 * *' }),
      {
        path: 'credentials[0].cron',
        message: '"0 3 * *" must have five fields: minute hour day month weekday',
      },
    ],
    [
      'an overlap on a single login',
      singleLogin({ overlap: '10m' }),
      {
        path: 'credentials[0].overlap',
        message: 'a single login holds one password at a time, so it has no overlap',
      },
    ],
    [
      'an overlap as long as the interval',
      alternating({ every: '6h', overlap: '6h' }),
      {
        path: 'credentials[0].overlap',
        message: 'must be shorter than the rotation interval, or two rotations would overlap',
      },
    ],
    [
      'the default overlap of 1h with an interval of 1h',
      alternating({ every: '1h' }),
      {
        path: 'credentials[0].overlap',
        message: 'must be shorter than the rotation interval, or two rotations would overlap',
      },
    ],
    [
      'alternating logins without logins',
      alternating({ logins: undefined }),
      {
        path: 'credentials[0].logins',
        message: 'alternating-logins needs the two logins that take turns',
      },
    ],
    [
      'two equal alternating logins',
      alternating({ logins: ['etl_blue', 'etl_blue'] }),
      { path: 'credentials[0].logins', message: 'the two logins must differ' },
    ],
    [
      'logins on a single-login credential',
      singleLogin({ logins: ['ci_a', 'ci_b'] }),
      {
        path: 'credentials[0].logins',
        message: "single-login rotates the identity's own login; remove logins",
      },
    ],
    [
      "another identity's mapped login",
      alternating({ identity: 'ci-bot', logins: ['ci_blue', 'etl_login'] }),
      { path: 'credentials[0].logins[1]', message: `login "etl_login" on pg is etl's` },
    ],
    [
      "another identity's default login",
      alternating({ logins: ['bob', 'etl_green'] }),
      { path: 'credentials[0].logins[0]', message: `login "bob" on pg is bob's` },
    ],
    [
      'an unknown notify entry',
      singleLogin({ notify: ['security', 'nobody'] }),
      { path: 'credentials[0].notify[1]', message: 'unknown identity or group "nobody"' },
    ],
    [
      'a webhook URL that is not http',
      singleLogin({
        webhooks: [{ url: 'ftp://consumer.example/rotated', secret: 'env:HOOK_KEY' }],
      }),
      { path: 'credentials[0].webhooks[0].url', message: 'must be an http:// or https:// URL' },
    ],
  ])('refuses %s, naming where', (_, credential, problem) => {
    expect(problemsOf(basePolicy(credential))).toEqual([problem]);
  });

  it('refuses a webhook secret written inline without repeating it', () => {
    const secret = 'whsec-0f8e7d6c5b4a39281706';
    const document = basePolicy(
      singleLogin({ webhooks: [{ url: 'https://consumer.example/hook', secret }] }),
    );

    const problems = problemsOf(document);

    expect(problems).toEqual([
      {
        path: 'credentials[0].webhooks[0].secret',
        message: 'must be a secret reference such as env:VAR or file:/path, never the value',
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain(secret);
  });

  it('accepts a webhook secret read from a file', () => {
    const webhooks = [{ url: 'http://127.0.0.1:8080/hook', secret: 'file:/run/secrets/hook' }];

    expect(validPolicy(basePolicy(singleLogin({ webhooks }))).credentials[0].webhooks).toEqual(
      webhooks,
    );
  });

  it('refuses two credentials that rotate the same login', () => {
    const document = basePolicy(
      alternating(),
      alternating({ id: 'pg/etl-2', logins: ['etl_green', 'etl_red'] }),
      singleLogin(),
      singleLogin({ id: 'pg/ci-bot-again' }),
    );

    expect(problemsOf(document)).toEqual([
      {
        path: 'credentials[1].logins[0]',
        message: 'login "etl_green" on pg is already rotated by pg/etl',
      },
      {
        path: 'credentials[3].identity',
        message: 'login "ci-bot" on pg is already rotated by pg/ci-bot',
      },
    ]);
  });

  it('refuses duplicate credential ids', () => {
    const document = basePolicy(singleLogin({ id: 'shared' }), alternating({ id: 'shared' }));

    expect(problemsOf(document)).toEqual([
      { path: 'credentials[1].id', message: 'duplicate id "shared"' },
    ]);
  });

  it('lists the problems of several credentials in one pass', () => {
    const document = basePolicy(
      singleLogin({ identity: 'alice', every: '30s' }),
      alternating({ system: 'mysql', logins: undefined, notify: ['nobody'] }),
    );

    expect(problemsOf(document).map((problem) => problem.path)).toEqual([
      'credentials[0].identity',
      'credentials[0].every',
      'credentials[1].system',
      'credentials[1].logins',
      'credentials[1].notify[0]',
    ]);
  });
});

describe('overlapOf', () => {
  it('keeps the previous secret for 1h by default with alternating logins', () => {
    expect(DEFAULT_OVERLAP_MS).toBe(HOUR);
    expect(overlapOf({ strategy: 'alternating-logins', overlap: undefined })).toBe(HOUR);
    expect(overlapOf(validPolicy(basePolicy(alternating())).credentials[0])).toBe(HOUR);
  });

  it('uses the overlap the policy gives for alternating logins', () => {
    expect(overlapOf(validPolicy(basePolicy(alternating({ overlap: '15m' }))).credentials[0])).toBe(
      15 * MINUTE,
    );
  });

  it('is zero for a single login, whatever overlap it carries', () => {
    expect(overlapOf(validPolicy(basePolicy(singleLogin())).credentials[0])).toBe(0);
    expect(overlapOf({ strategy: 'single-login', overlap: HOUR })).toBe(0);
  });
});
