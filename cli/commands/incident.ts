import type { Command } from 'commander';
import { formatDuration } from '../../domain/duration';
import type { IncidentState } from '../../domain/incident';
import type { IncidentReport } from '../../domain/incident-report';
import { Severity } from '../../domain/incident';
import { Api, CliError } from '../api';
import type { GlobalOptions } from '../api';
import { table } from '../format';

type Opts = GlobalOptions & Record<string, unknown>;
type Report = IncidentReport;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const path = (id: string) => `/v1/incidents/${encodeURIComponent(id)}`;
const reasonBody = (options: Opts) =>
  typeof options.reason === 'string' ? { reason: options.reason } : {};
const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '-' : formatMs(value);
// Times to revoke are often under a second; whole units would read as zero.
const formatMs = (value: number) =>
  value < 60_000 ? `${(value / 1000).toFixed(1)}s` : formatDuration(value);

/** The report as people read it: timeline, what was removed where, times to revoke, approvals. */
export function describeReport(report: Report): string {
  const lines = [
    `Incident ${report.incidentId}: ${report.identity} (${report.severity}), ${report.status}`,
    `Time to revoke: ${ms(report.timeToRevokeMs)}`,
    ...(report.pending.length > 0 ? [`Pending: ${report.pending.join(', ')}`] : []),
    '',
    table(
      ['AT', 'WHAT'],
      report.timeline.map((e) => [e.at, e.what]),
    ),
    '',
    table(
      ['SYSTEM', 'STATUS', 'TIME TO REVOKE', 'REMOVED', 'SESSIONS ENDED'],
      report.systems.map((s) => [
        s.systemId,
        s.status,
        ms(s.timeToRevokeMs),
        s.removed.map((r) => `${r.role} from ${r.login} (${r.source})`).join(', ') || 'nothing',
        s.sessionsTerminated,
      ]),
    ),
  ];
  if (report.credentials.length > 0) {
    lines.push(
      '',
      table(
        ['CREDENTIAL', 'PHASE', 'ROTATION'],
        report.credentials.map((c) => [c.credentialId, c.phase, c.status]),
      ),
    );
  }
  const approvals = report.approvals.map((a) => `${a.approver} at ${a.at}`).join(', ');
  lines.push('', `Restore approved by: ${approvals || 'nobody yet'}`);
  if (report.closedBy) {
    const why = report.closeReason ? `: ${report.closeReason}` : '';
    lines.push(`Closed without restore by ${report.closedBy} at ${report.closedAt}${why}`);
  }
  return lines.join('\n');
}

/** Incidents: open, list, show, restore, close, retry and report (admins and the incident group). */
export function registerIncidentCommands(program: Command): void {
  const incident = program
    .command('incident')
    .description('contain a compromised identity, and restore it');

  incident
    .command('open <identity>')
    .description(
      'quarantine an identity and take its access everywhere (admins and the incident group)',
    )
    .requiredOption('--reason <text>', 'what happened; kept in the audit log')
    .option('--severity <level>', `one of ${Severity.join(', ')}`, 'high')
    .action(async (identity: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      // Checked here too, so a typo is named before anything reaches the server.
      if (!Severity.includes(options.severity as Severity)) {
        throw new CliError(`--severity must be one of ${Severity.join(', ')}`);
      }
      const body = { identity, reason: options.reason, severity: options.severity };
      type Opened = { id: string; joined: boolean; warning?: string };
      const opened = await Api.from(options).call<Opened>('POST', '/v1/incidents', body);
      if (opened.warning && !options.json) process.stderr.write(`warning: ${opened.warning}\n`);
      const said = opened.joined
        ? `joined its open incident ${opened.id}`
        : `opened incident ${opened.id}`;
      out(
        options.json
          ? JSON.stringify(opened, null, 2)
          : `${identity}: ${said}; see keyward incident report ${opened.id}`,
      );
    });

  // Admins and the incident group see every incident; nobody else lists them.
  incident
    .command('list')
    .description('incidents, newest first')
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const { incidents } = await Api.from(options).call<{
        incidents: Record<string, string | boolean | null>[];
      }>('GET', '/v1/incidents');
      if (options.json) return out(JSON.stringify(incidents, null, 2));
      out(
        table(
          ['INCIDENT', 'IDENTITY', 'SEVERITY', 'STATUS', 'REPORTED', 'QUARANTINED'],
          incidents.map((i) => [
            String(i.id),
            String(i.identity),
            String(i.severity),
            String(i.status),
            String(i.reportedAt),
            i.quarantined ? 'yes' : 'no',
          ]),
        ),
      );
    });

  incident
    .command('report <incidentId>')
    .description('the timeline, what was removed where, the time to revoke and who approved what')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const report = await Api.from(options).call<Report>('GET', `${path(id)}/report`);
      out(options.json ? JSON.stringify(report, null, 2) : describeReport(report));
    });

  incident
    .command('restore <incidentId>')
    .description(
      'approve giving access back; two members of the incident group must (not the identity or its owner)',
    )
    .option('--reason <text>', 'why it is safe now; kept in the audit log')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      // The approval that completes the quorum answers at once; the restore follows, read with report.
      const state = await Api.from(options).call<IncidentState>(
        'POST',
        `${path(id)}/restore`,
        reasonBody(options),
      );
      out(options.json ? JSON.stringify(state, null, 2) : describeApproval(id, state));
    });

  incident
    .command('close <incidentId>')
    .description('close without restore: access stays removed and the identity quarantined')
    .option('--reason <text>', 'why; kept in the audit log')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const state = await Api.from(options).call<IncidentState>(
        'POST',
        `${path(id)}/close`,
        reasonBody(options),
      );
      const text =
        state.status === 'CLOSED'
          ? `Incident ${id}: closed without restore.`
          : `Incident ${id}: closing without restore once containment has finished; see keyward incident report ${id}`;
      out(options.json ? JSON.stringify(state, null, 2) : text);
    });

  incident
    .command('retry <incidentId>')
    .description(
      'try the systems that failed again, once their cause is fixed (admins and the incident group)',
    )
    .option('--reason <text>', 'what was fixed; kept in the audit log')
    .action(async (id: string, _: unknown, command: Command) => {
      const options = command.optsWithGlobals<Opts>();
      const state = await Api.from(options).call<IncidentState>(
        'POST',
        `${path(id)}/retry`,
        reasonBody(options),
      );
      const failed = state.systems.filter((s) => s.status === 'FAILED').map((s) => s.systemId);
      const text = `Incident ${id}: retrying ${failed.join(', ')}; see keyward incident report ${id}`;
      out(options.json ? JSON.stringify(state, null, 2) : text);
    });
}

/** What an approval led to: the restore under way, or how many approvals there are so far. */
export function describeApproval(id: string, state: IncidentState): string {
  const by = state.approvals.map((a) => a.approver).join(', ');
  if (state.status === 'RESTORED') return `Incident ${id}: restored.`;
  if (state.status === 'RESTORING') {
    return `Incident ${id}: restore approved by ${by}; access is being given back, see keyward incident report ${id}`;
  }
  if (state.status === 'CONTAINED')
    return `Incident ${id}: restore approved by ${by}; one more approval is needed.`;
  return `Incident ${id}: restore approved by ${by}; the incident is ${state.status}.`;
}
