import { countOf } from '../../domain/text';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Api, CliError } from '../api';
import type { GlobalOptions } from '../api';
import { MAX_SEQ } from '../../domain/campaign';
import { refuseTakenEvidenceDir, writeEvidence } from '../evidence';
import type { Evidence } from '../evidence';
import { shownTime, table } from '../format';

type Opts = GlobalOptions & Record<string, unknown>;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const path = (id: string, rest = '') => `/v1/campaigns/${encodeURIComponent(id)}${rest}`;

const SCOPE_KEYS: Record<string, string> = {
  system: 'systems',
  entitlement: 'entitlements',
  tier: 'riskTiers',
  kind: 'identityKinds',
};

/** "system=pg-main,tier=high,tier=critical,kind=human" as the API's scope object. */
export function parseScope(text: string | undefined): Record<string, string[]> {
  const scope: Record<string, string[]> = {};
  for (const part of (text ?? '').split(',').filter((p) => p.trim())) {
    const [key, value, extra] = part.split('=').map((s) => s.trim());
    const field = SCOPE_KEYS[key];
    if (!field || !value || extra !== undefined) {
      throw new CliError(
        `"${part}" is not a scope filter; use system=, entitlement=, tier= or kind=`,
      );
    }
    scope[field] = [...(scope[field] ?? []), value];
  }
  return scope;
}

interface Status {
  campaign: {
    id: string;
    name: string;
    deadlineAt: string | null;
    status: string;
    failure?: string | null;
  };
  phase: string;
  totals: { items: number; decided: number; pending: number };
  reviewers: {
    reviewer: string;
    total: number;
    decided: number;
    pending: number;
    overdue: number;
  }[];
  remediation: Record<string, number>;
}

function bar(done: number, total: number, width = 30): string {
  const share = total === 0 ? 1 : done / total;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(share * 100)}%`;
}

function describe(status: Status): string {
  const { campaign, totals } = status;
  const remediation = Object.entries(status.remediation)
    .filter(([k]) => k !== 'none')
    .map(([k, n]) => `${n} ${k}`);
  return [
    `Campaign ${campaign.id}: ${campaign.name}`,
    `  phase:       ${status.phase}`,
    ...(campaign.failure ? [`  failure:     ${campaign.failure}`] : []),
    `  deadline:    ${shownTime(campaign.deadlineAt) ?? '-'}`,
    `  progress:    ${bar(totals.decided, totals.items)} ${totals.decided}/${totals.items} decided`,
    `  remediation: ${remediation.join(', ') || 'not started'}`,
    '',
    table(
      ['REVIEWER', 'DECIDED', 'PENDING', 'OVERDUE'],
      status.reviewers.map((r) => [r.reviewer, `${r.decided}/${r.total}`, r.pending, r.overdue]),
    ),
  ].join('\n');
}

/** A share from 0 to 1; the server checks the range, this only that it is a number at all. */
export function parseShare(text: string): number {
  if (!/^(0|1|0?\.\d+)$/.test(text.trim()))
    throw new CliError(`"${text}" is not a share from 0 to 1, such as 0.2`);
  return Number(text);
}

const items = (text: string) =>
  text.split(',').map((part) => {
    const seq = Number(part.trim());
    if (!/^\d+$/.test(part.trim()) || seq < 1 || seq > MAX_SEQ)
      throw new CliError(`"${part}" is not an item number`);
    return seq;
  });

/** Certification campaigns: admins start and follow them, reviewers decide their items. */
export function registerCampaignCommands(program: Command): void {
  const campaign = program.command('campaign').description('access certification campaigns');

  campaign
    .command('start')
    .description('start a campaign (admins)')
    .requiredOption('--name <text>', 'what auditors will read')
    .option(
      '--scope <filter>',
      'system=<id>,entitlement=<id>,tier=<risk>,kind=human|non-human (repeat keys for more)',
    )
    .option('--reviewers <who>', 'manager, owner or group:<id>', 'manager')
    .requiredOption('--deadline <duration>', 'for example 14d')
    .option('--remind <leads>', 'reminder lead times before the deadline, for example 3d,1d')
    .option(
      '--escalate-after <duration>',
      'after this long, pending items also go to the manager or fallback group',
    )
    .option('--default <decision>', 'keep or revoke, for items undecided at the deadline', 'keep')
    .option('--fallback-group <id>', 'reviews items whose identity has no manager or owner')
    .option(
      '--mass-revocation-share <share>',
      'a default revoking more than this share (0 to 1) waits for an admin',
    )
    .option('--id <id>', 'a campaign id of your own; starting the same id again starts nothing new')
    .action(async (_: unknown, command: Command) => {
      const o = command.optsWithGlobals<Opts>();
      const body = {
        ...(o.id ? { id: o.id } : {}),
        name: o.name,
        scope: parseScope(o.scope as string | undefined),
        reviewers: o.reviewers,
        deadline: o.deadline,
        remind: (o.remind as string | undefined) ?? [],
        ...(o.escalateAfter ? { escalateAfter: o.escalateAfter } : {}),
        default: o.default,
        ...(o.fallbackGroup ? { fallbackGroup: o.fallbackGroup } : {}),
        ...(o.massRevocationShare !== undefined && {
          massRevocationShare: parseShare(String(o.massRevocationShare)),
        }),
      };
      const started = await Api.from(o).call<{ id: string }>('POST', '/v1/campaigns', body);
      out(
        o.json
          ? JSON.stringify(started, null, 2)
          : `Campaign ${started.id} started; see keyward campaign status ${started.id}.`,
      );
    });

  campaign
    .command('status <id>')
    .description('progress per reviewer and remediation (admins)')
    .option('--watch', 'refresh every two seconds until the campaign ends')
    .action(async (id: string, _: unknown, command: Command) => {
      const o = command.optsWithGlobals<Opts>();
      const api = Api.from(o);
      // --watch polls the API, which reads the campaign's own query; it stops once the campaign ends.
      for (;;) {
        const status = await api.call<Status>('GET', path(id));
        out(o.json ? JSON.stringify(status, null, 2) : describe(status));
        if (!o.watch || ['COMPLETED', 'CANCELLED', 'FAILED'].includes(status.phase)) return;
        await new Promise((r) => setTimeout(r, 2_000));
        if (!o.json) out('');
      }
    });

  campaign
    .command('items <id>')
    .description('the items you review in a campaign')
    .action(async (id: string, _: unknown, command: Command) => {
      const o = command.optsWithGlobals<Opts>();
      const api = Api.from(o);
      const rows: Record<string, string | number | null>[] = [];
      // The server answers a page at a time; all of them are shown.
      for (;;) {
        const page = await api.call<{ items: typeof rows; total: number }>(
          'GET',
          path(id, `/items?offset=${rows.length}`),
        );
        rows.push(...page.items);
        if (page.items.length === 0 || rows.length >= page.total) break;
      }
      if (o.json) return out(JSON.stringify(rows, null, 2));
      out(
        table(
          ['ITEM', 'IDENTITY', 'ENTITLEMENT', 'SYSTEM', 'RISK', 'DECISION'],
          rows.map((r) => [
            r.seq,
            r.identity,
            r.entitlement_id,
            r.system_id,
            r.risk_tier,
            r.decision ?? 'pending',
          ]),
        ),
      );
    });

  for (const verb of ['certify', 'revoke'] as const) {
    campaign
      .command(`${verb} <id> <items>`)
      .description(`${verb} items (comma-separated numbers) you review`)
      .option(
        '--reason <text>',
        verb === 'revoke' ? 'why the access goes (required)' : 'a note for the evidence',
      )
      .action(async (id: string, list: string, _: unknown, command: Command) => {
        const o = command.optsWithGlobals<Opts>();
        // The server refuses it too; asked here, nothing is sent before the reason is there.
        if (verb === 'revoke' && !String(o.reason ?? '').trim())
          throw new CliError('a revocation needs a reason: add --reason "<why the access goes>"');
        const decisions = items(list).map((item) => ({
          item,
          decision: verb,
          ...(o.reason ? { reason: o.reason } : {}),
        }));
        const result = await Api.from(o).call<{ decided: number }>('POST', path(id, '/decisions'), {
          decisions,
        });
        out(
          o.json
            ? JSON.stringify(result, null, 2)
            : `${countOf(result.decided, 'item')} ${verb === 'certify' ? 'certified' : 'revoked'}.`,
        );
      });
  }

  campaign
    .command('delegate <id> <items>')
    .description('hand items you review to another eligible reviewer')
    .requiredOption('--to <identity>', 'who reviews them instead')
    .action(async (id: string, list: string, _: unknown, command: Command) => {
      const o = command.optsWithGlobals<Opts>();
      const result = await Api.from(o).call<object>('POST', path(id, '/delegations'), {
        items: items(list),
        to: o.to,
      });
      out(o.json ? JSON.stringify(result, null, 2) : `Delegated to ${String(o.to)}.`);
    });

  const adminActions = {
    confirm: [
      'let a mass revocation by default go ahead (admins)',
      'confirmed: the revocations go ahead',
    ],
    decline: [
      'keep the items a mass revocation by default would remove (admins)',
      'declined: those items are kept',
    ],
    cancel: ['stop a campaign without applying defaults (admins)', 'cancelled'],
    remediate: [
      "retry a completed campaign's failed revocations, once the target is fixed (admins)",
      'is retrying its failed revocations; follow it with keyward campaign status',
    ],
  } as const;
  for (const [verb, [description, done]] of Object.entries(adminActions)) {
    campaign
      .command(`${verb} <id>`)
      .description(description)
      .action(async (id: string, _: unknown, command: Command) => {
        const o = command.optsWithGlobals<Opts>();
        const result = await Api.from(o).call<object>('POST', path(id, `/${verb}`));
        out(o.json ? JSON.stringify(result, null, 2) : `Campaign ${id} ${done}.`);
      });
  }

  campaign
    .command('export <id>')
    .description(
      'write the evidence: items as CSV and JSON, audit events, a summary and a SHA-256 manifest (admins)',
    )
    .requiredOption('--out <dir>', 'a directory without evidence in it yet; made if missing')
    .action(async (id: string, _: unknown, command: Command) => {
      const o = command.optsWithGlobals<Opts>();
      const dir = resolve(String(o.out));
      // Checked before the download too, so a taken directory is refused before any work is done;
      // it is made only once there is evidence to put in it.
      refuseTakenEvidenceDir(dir);
      const evidence = await Api.from(o).call<Evidence>('GET', path(id, '/export'));
      const summary = writeEvidence(dir, evidence);
      out(
        o.json
          ? JSON.stringify(summary, null, 2)
          : `Evidence of ${countOf(summary.items, 'item')} written to ${dir}.`,
      );
    });
}
