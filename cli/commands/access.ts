import type { Command } from 'commander';
import type { JitState } from '../../domain/jit';
import type { GrantRecord } from '../../store/grants';
import type { RequestSummary } from '../../store/requests';
import { Api } from '../api';
import type { GlobalOptions } from '../api';
import { describeRequest, shownTime, table } from '../format';

type Opts = GlobalOptions & Record<string, unknown>;

function print(options: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write(`${options.json ? JSON.stringify(value, null, 2) : human()}\n`);
}

/** Requests, decisions and grants: what requesters and approvers do. */
export function registerAccessCommands(program: Command): void {
  program
    .command('request <entitlement>')
    .description('ask for an entitlement for a while')
    .requiredOption('--for <duration>', 'how long, such as 30m, 4h or 1d')
    .option('--reason <text>', 'why you need it', '')
    .option(
      '--idempotency-key <key>',
      'repeat a request safely: the same key names the same request',
    )
    .action(async (entitlement: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const headers: Record<string, string> = options.idempotencyKey
        ? { 'idempotency-key': String(options.idempotencyKey) }
        : {};
      const body = { entitlement, duration: options.for, reason: options.reason };
      const created = await Api.from(options).call<{
        id: string;
        required: number;
        approvers: string[];
      }>('POST', '/v1/requests', body, headers);
      print(options, created, () =>
        created.required === 0
          ? `Request ${created.id} created; ${entitlement} needs no approval and is being granted.`
          : `Request ${created.id} created.\n` +
            `Needs ${created.required} approval(s) from: ${created.approvers.join(', ')}`,
      );
    });

  for (const [name, verb] of [
    ['approve', 'approve'],
    ['deny', 'deny'],
    ['revoke', 'revoke'],
  ] as const) {
    const cmd = program
      .command(`${name} <requestId>`)
      .description(
        name === 'revoke'
          ? 'end a request or a grant now'
          : `${verb} a request you are an approver of`,
      );
    cmd.option(
      name === 'deny' ? '--reason <text>' : '--reason [text]',
      name === 'deny' ? 'why (required)' : 'why',
    );
    cmd.action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const reason = typeof options.reason === 'string' ? options.reason : undefined;
      const state = await Api.from(options).call<JitState>(
        'POST',
        `/v1/requests/${encodeURIComponent(id)}/${verb}`,
        {
          ...(reason ? { reason } : {}),
        },
      );
      print(options, state, () => describeRequest(state));
    });
  }

  program
    .command('status <requestId>')
    .description('show a request: approvals, grant, expiry, revocation')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const state = await Api.from(options).call<JitState>(
        'GET',
        `/v1/requests/${encodeURIComponent(id)}`,
      );
      print(options, state, () => describeRequest(state));
    });

  program
    .command('requests')
    .description('list your requests (admins: --all; approvers: --awaiting)')
    .option('--awaiting', 'pending requests you may approve')
    .option('--all', "everyone's requests (admins)")
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const query = options.awaiting ? '?awaiting=me' : options.all ? '?all=true' : '';
      const { requests } = await Api.from(options).call<{ requests: RequestSummary[] }>(
        'GET',
        `/v1/requests${query}`,
      );
      print(options, requests, () =>
        table(
          ['ID', 'REQUESTER', 'ENTITLEMENT', 'STATUS', 'CREATED'],
          requests.map((r) => [
            r.id,
            r.requester,
            r.entitlementId,
            r.status,
            shownTime(r.createdAt),
          ]),
        ),
      );
    });

  program
    .command('grants')
    .description("list grants: yours, or everyone's for admins")
    .option('--active', 'only grants not yet revoked')
    .option('--identity <id>', 'grants of one identity')
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const params = new URLSearchParams();
      if (options.active) params.set('active', 'true');
      if (options.identity) params.set('identity', String(options.identity));
      const { grants } = await Api.from(options).call<{ grants: GrantRecord[] }>(
        'GET',
        `/v1/grants?${params}`,
      );
      print(options, grants, () =>
        table(
          [
            'REQUEST',
            'IDENTITY',
            'ENTITLEMENT',
            'APPROVED BY',
            'GRANTED',
            'UNTIL',
            'REVOKED',
            'BY',
          ],
          grants.map((g) => [
            g.requestId,
            g.identity,
            g.entitlementId,
            g.approvals.map((a) => a.approver).join(',') || 'auto',
            shownTime(g.grantedAt),
            shownTime(g.expiresAt),
            shownTime(g.revokedAt),
            g.revokedBy,
          ]),
        ),
      );
    });
}
