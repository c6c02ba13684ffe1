/**
 * How a large campaign behaves: launch time, notification throughput, decisions per second and the
 * largest workflow history, for 100,000 items and 1,000 reviewers by default.
 *
 *   npx tsx bench/campaign.ts [--reviewers 1000]
 *
 * Each reviewer manages ten identities, each a member of ten roles on the target: 100 items per
 * reviewer. It starts its own Temporal dev server and PostgreSQL, as the test suite does, and
 * stops them at the end; it is not part of `npm test`.
 */
import type { PolicyInput } from '../domain/policy';
import { itemsOfReviewer } from '../store/campaigns';
import { CampaignHarness } from '../test/support/campaign-harness';
import globalSetup from '../test/support/globalSetup';
import globalTeardown from '../test/support/globalTeardown';
import { targetSystem } from '../test/support/policies';
import { superuserQuery } from '../test/support/servers';
import { waitFor } from '../test/support/wait';

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} takes a positive whole number`);
  return value;
};

const REVIEWERS = argument('reviewers', 1_000);
const PER_REVIEWER = 10;
const ROLES = 10;
const IDENTITIES = REVIEWERS * PER_REVIEWER;
const ITEMS = IDENTITIES * ROLES;
/** One item in twenty is revoked, so remediation on the target is measured too. */
const REVOKE_EVERY = 20;
const PARALLEL_DECISIONS = 16;
const role = (i: number) => `bench_r${i}`;
const login = (i: number) => `bench_u${i}`;

function policy(): PolicyInput {
  return {
    version: 1,
    settings: { adminGroup: 'security', massRevocationShare: 1 },
    identities: [
      { id: 'boss' },
      ...Array.from({ length: REVIEWERS }, (_, i) => ({
        id: `m${i}`,
        manager: 'boss',
        email: `m${i}@example.test`,
      })),
      ...Array.from({ length: IDENTITIES }, (_, i) => ({
        id: `u${i}`,
        manager: `m${i % REVIEWERS}`,
        logins: { target: login(i) },
      })),
    ],
    groups: [{ id: 'security', members: ['boss'] }],
    systems: [targetSystem],
    entitlements: Array.from({ length: ROLES }, (_, i) => ({
      id: `target/r${i}`,
      system: 'target',
      role: role(i),
      riskTier: 'low' as const,
      maxDuration: '1h',
      approval: { required: 0 },
    })),
  };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Roles and logins are made in server-side loops: ten thousand round trips would measure the network. */
async function createTargets(): Promise<void> {
  await superuserQuery(`DO $$ BEGIN
    FOR i IN 0..${ROLES - 1} LOOP EXECUTE format('CREATE ROLE %I', 'bench_r' || i); END LOOP;
    FOR i IN 0..${IDENTITIES - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', 'bench_u' || i); END LOOP;
    FOR i IN 0..${IDENTITIES - 1} LOOP
      FOR j IN 0..${ROLES - 1} LOOP EXECUTE format('GRANT %I TO %I', 'bench_r' || j, 'bench_u' || i); END LOOP;
    END LOOP; END $$`);
}

async function dropTargets(): Promise<void> {
  await superuserQuery(`DO $$ BEGIN
    FOR i IN 0..${IDENTITIES - 1} LOOP EXECUTE format('DROP ROLE IF EXISTS %I', 'bench_u' || i); END LOOP;
    FOR i IN 0..${ROLES - 1} LOOP EXECUTE format('DROP ROLE IF EXISTS %I', 'bench_r' || i); END LOOP; END $$`);
}

async function main(): Promise<void> {
  say(`Campaign bench: ${ITEMS} items, ${REVIEWERS} reviewers`);
  await globalSetup();
  const harness = new CampaignHarness(policy());
  try {
    await harness.start();
    await createTargets();
    say(
      `Targets ready: ${IDENTITIES} logins in ${ROLES} roles (${role(0)}..${role(ROLES - 1)}, ${login(0)}..)`,
    );

    const launchedAt = Date.now();
    const { id } = await harness.service.start('boss', {
      name: 'bench',
      deadline: '2d',
      default: 'keep',
    });
    await harness.waitPhase(id, 'REVIEWING', 3_600_000);
    const launchMs = Date.now() - launchedAt;
    say(
      `Launch: ${seconds(launchMs)} to collect ${ITEMS} items and start ${REVIEWERS} reviewer workflows`,
    );

    await waitFor(
      'every reviewer notified',
      () => harness.smtp.received.length >= REVIEWERS,
      3_600_000,
    );
    const notifiedMs = Date.now() - launchedAt;
    say(
      `Notifications: ${REVIEWERS} emails in ${seconds(notifiedMs)}, ${(REVIEWERS / (notifiedMs / 1000)).toFixed(1)}/s`,
    );

    // Each reviewer decides all their items in one go from the review page or the API.
    const decidedAt = Date.now();
    let next = 0;
    const decideAll = async () => {
      for (let r = next++; r < REVIEWERS; r = next++) {
        const items = await itemsOfReviewer(harness.db, id, `m${r}`, 0, 1_000);
        const decisions = items.map((item) => ({
          seq: item.seq,
          decision: item.seq % REVOKE_EVERY === 0 ? ('revoke' as const) : ('certify' as const),
          reason: 'bench',
        }));
        await harness.service.decide(`m${r}`, id, decisions, 'api');
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_DECISIONS }, decideAll));
    const decideMs = Date.now() - decidedAt;
    say(`Decisions: ${ITEMS} in ${seconds(decideMs)}, ${(ITEMS / (decideMs / 1000)).toFixed(0)}/s`);

    const remediatedAt = Date.now();
    const done = await harness.waitPhase(id, 'COMPLETED', 3_600_000);
    say(
      `Remediation: ${done.remediation.revoked} revocations on the target in ${seconds(Date.now() - remediatedAt)}`,
    );

    const lengths = await harness.historyLengths(id);
    const largest = lengths.reduce((max, l) => (l.events > max.events ? l : max), {
      workflowId: '-',
      events: 0,
    });
    say(
      `Largest history: ${largest.events} events (${largest.workflowId}) across ${lengths.length} workflows`,
    );
  } finally {
    await harness.stop();
    await dropTargets().catch(() => undefined);
    await globalTeardown();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
