import type { Command } from 'commander';
import type { AuditEvent } from '../../domain/audit';
import { policyJsonSchema } from '../../domain/policy';
import { checkPolicyFile } from '../../integrations/policy/load';
import type { ChainVerdict } from '../../store/audit';
import { Api } from '../api';
import type { GlobalOptions } from '../api';
import { table } from '../format';

type Opts = GlobalOptions & Record<string, unknown>;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** Audit, policy checks and identity: what admins and scripts use. */
export function registerAdminCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('show the audit log (admins)')
    .option('--subject <id>', 'events about one request')
    .option('--actor <id>', 'events by one identity')
    .option('--limit <n>', 'at most this many events', '200')
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const params = new URLSearchParams({ limit: String(options.limit) });
      if (options.subject) params.set('subject', String(options.subject));
      if (options.actor) params.set('actor', String(options.actor));
      const { events } = await Api.from(options).call<{ events: AuditEvent[] }>(
        'GET',
        `/v1/audit?${params}`,
      );
      if (options.json) {
        out(JSON.stringify(events, null, 2));
        return;
      }
      out(
        table(
          ['SEQ', 'AT', 'ACTOR', 'ACTION', 'SUBJECT', 'APPROVED BY'],
          events.map((e) => [
            e.seq,
            e.at,
            e.actor,
            e.action,
            e.subject,
            e.approvalPath.map((a) => a.approver).join(','),
          ]),
        ),
      );
    });

  audit
    .command('verify')
    .description('check that no audit event was altered or removed')
    .option(
      '--anchor <hash>',
      'a head hash printed by an earlier verify, kept elsewhere: it must still be in the log',
    )
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const query = options.anchor ? `?anchor=${encodeURIComponent(String(options.anchor))}` : '';
      const verdict = await Api.from(options).call<ChainVerdict>('GET', `/v1/audit/verify${query}`);
      if (options.json) out(JSON.stringify(verdict, null, 2));
      else if (verdict.ok) {
        const anchor = verdict.anchorAt ? `; the anchor is event ${verdict.anchorAt}` : '';
        out(`Audit log intact: ${verdict.events} events, head ${verdict.head}${anchor}`);
      } else if (verdict.anchorMissing) {
        out(
          `Audit log does not hold the anchor: ${verdict.problem} ` +
            `(its ${verdict.events} events link and hash)`,
        );
      } else {
        out(
          `Audit log BROKEN at event ${verdict.brokenAt}: ${verdict.problem} ` +
            `(${verdict.events} events before it are intact)`,
        );
      }
      if (!verdict.ok) process.exitCode = 3;
    });

  program
    .command('validate [file]')
    .description('check a policy file and print every problem with its path')
    .action((file: string | undefined, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const path = file ?? process.env.KEYWARD_POLICY ?? 'keyward.yaml';
      const result = checkPolicyFile(path);
      if (options.json) out(JSON.stringify(result.ok ? { ok: true } : result, null, 2));
      else if (result.ok) out(`${path} is valid.`);
      else
        out(
          `${path} has ${result.problems.length} problem(s):\n` +
            result.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
        );
      if (!result.ok) process.exitCode = 1;
    });

  program
    .command('schema')
    .description('print the JSON Schema of the policy file')
    .action(() => {
      out(JSON.stringify(policyJsonSchema(), null, 2));
    });

  program
    .command('whoami')
    .description('show which identity your credentials belong to')
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const me = await Api.from(options).call<{ identity: string; admin: boolean }>(
        'GET',
        '/v1/me',
      );
      out(options.json ? JSON.stringify(me) : `${me.identity}${me.admin ? ' (admin)' : ''}`);
    });
}
