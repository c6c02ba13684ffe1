import type { Command } from 'commander';
import type { RotationSummary } from '../../domain/rotation-status';
import type { ScheduleSyncResult } from '../../integrations/temporal/schedules';
import { Api } from '../api';
import type { GlobalOptions } from '../api';
import { shownTime, table } from '../format';

type Opts = GlobalOptions & Record<string, unknown>;

interface ScheduleChange {
  credentialId: string;
  paused: boolean;
  changed: boolean;
  note: string | null;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const path = (id: string) => `/v1/rotations/${encodeURIComponent(id)}`;
const reasonBody = (options: Opts) =>
  typeof options.reason === 'string' ? { reason: options.reason } : {};

function statusOf(r: RotationSummary): string {
  if (!r.schedule) return 'no schedule';
  if (r.schedule.running) return 'rotating';
  return r.lastStatus ?? 'never rotated';
}

function registerScheduleChange(rotation: Command, verb: 'pause' | 'resume'): void {
  rotation
    .command(`${verb} <credentialId>`)
    .description(`${verb} a credential's scheduled rotation (admins and its owner)`)
    .option('--reason <text>', 'why; kept in the schedule note and the audit log')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const change = await Api.from(options).call<ScheduleChange>(
        'POST',
        `${path(id)}/${verb}`,
        reasonBody(options),
      );
      const state = change.paused ? 'paused' : 'running on its schedule';
      const already = change.changed ? '' : ' already';
      out(
        options.json ? JSON.stringify(change, null, 2) : `Rotation of ${id} is${already} ${state}.`,
      );
    });
}

/** Credential rotation: schedules for admins and owners, and the secret for its own identity. */
export function registerRotationCommands(program: Command): void {
  const rotation = program
    .command('rotation')
    .description('credential rotation: list, sync, pause and resume');

  rotation
    .command('list')
    .description('credentials you may see, with their last rotation and schedule')
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const { rotations } = await Api.from(options).call<{ rotations: RotationSummary[] }>(
        'GET',
        '/v1/rotations',
      );
      if (options.json) return out(JSON.stringify(rotations, null, 2));
      out(
        table(
          ['CREDENTIAL', 'STRATEGY', 'LAST ROTATION', 'NEXT DUE', 'STATUS', 'OVERDUE', 'PAUSED'],
          rotations.map((r) => [
            r.id,
            r.strategy,
            shownTime(r.lastRotatedAt) ?? 'never',
            shownTime(r.schedule?.nextDueAt),
            statusOf(r),
            r.overdue ? 'yes' : 'no',
            r.schedule ? (r.schedule.paused ? 'yes' : 'no') : null,
          ]),
        ),
      );
    });

  rotation
    .command('sync')
    .description("make Temporal's rotation schedules match the policy (admins)")
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const result = await Api.from(options).call<ScheduleSyncResult>('POST', '/v1/rotations/sync');
      const parts = Object.entries(result).map(([what, ids]) => `${ids.length} ${what}`);
      out(
        options.json ? JSON.stringify(result, null, 2) : `Rotation schedules: ${parts.join(', ')}.`,
      );
    });

  registerScheduleChange(rotation, 'pause');
  registerScheduleChange(rotation, 'resume');

  program
    .command('rotate <credentialId>')
    .description("rotate a credential's secret now (admins and its owner)")
    .option('--reason <text>', 'why now; kept in the audit log')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const requested = await Api.from(options).call<object>(
        'POST',
        `${path(id)}/rotate`,
        reasonBody(options),
      );
      out(
        options.json
          ? JSON.stringify(requested, null, 2)
          : `Rotation of ${id} started; see keyward rotation list.`,
      );
    });

  const secret = program.command('secret').description('the secrets keyward rotates');
  secret
    .command('get <credentialId>')
    .description("print a credential's current secret (only its own identity may read it)")
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const read = await Api.from(options).call<{ secret: string }>(
        'GET',
        `/v1/secrets/${encodeURIComponent(id)}`,
      );
      // The value alone, so that $(keyward secret get ...) is the secret.
      out(options.json ? JSON.stringify(read, null, 2) : read.secret);
    });
}
