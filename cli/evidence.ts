import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './api';

/** Where the campaign's audit events sit in the log's hash chain. */
export interface AuditChain {
  events: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
}

export interface Evidence {
  campaign: object;
  items: Record<string, unknown>[];
  audit: object[];
  auditChain: AuditChain;
}

/** Every file an export writes; the manifest comes last. */
export const EVIDENCE_FILES = [
  'items.csv',
  'items.json',
  'audit.json',
  'summary.json',
  'manifest.json',
];

// Cells with commas, quotes or line breaks are quoted, so a reason cannot add a column or a row;
// one that a spreadsheet would read as a formula (=, +, -, @) is prefixed with a quote.
export const csvCell = (value: unknown) => {
  const raw = value === null || value === undefined ? '' : String(value);
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

const exists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;

/**
 * Refuses a directory that already holds evidence (or anything under an evidence file's name): an
 * export never mixes with, or replaces, files an auditor may have been given.
 */
export function refuseTakenEvidenceDir(dir: string): void {
  const taken = EVIDENCE_FILES.filter((name) => exists(join(dir, name)));
  if (taken.length > 0) {
    throw new CliError(
      `${dir} already holds ${taken.join(', ')}; nothing was written. Export into a new directory.`,
    );
  }
}

function summaryOf(evidence: Evidence) {
  const count = (key: string, value: unknown) =>
    evidence.items.filter((i) => i[key] === value).length;
  return {
    campaign: evidence.campaign,
    items: evidence.items.length,
    certified: count('decision', 'certify'),
    revoked: count('decision', 'revoke'),
    byDefault: count('decidedBy', 'keyward:default'),
    remediation: {
      revoked: count('remediation', 'revoked'),
      failed: count('remediation', 'failed'),
      superseded: count('remediation', 'superseded'),
      kept: count('remediation', 'kept'),
    },
    auditEvents: evidence.audit.length,
    auditChain: evidence.auditChain,
  };
}

/** Writes the evidence: items as CSV and JSON, the audit events, a summary and SHA-256 hashes of them all. */
/** Writes the evidence into `dir`, made if missing, the manifest last. */
export function writeEvidence(dir: string, evidence: Evidence) {
  refuseTakenEvidenceDir(dir);
  mkdirSync(dir, { recursive: true });
  const columns = Object.keys(evidence.items[0] ?? { item: 0 });
  const csv = [
    columns.join(','),
    ...evidence.items.map((item) => columns.map((c) => csvCell(item[c])).join(',')),
  ];
  const summary = summaryOf(evidence);
  const files: Record<string, string> = {
    'items.csv': `${csv.join('\n')}\n`,
    'items.json': `${JSON.stringify(evidence.items, null, 2)}\n`,
    'audit.json': `${JSON.stringify(evidence.audit, null, 2)}\n`,
    'summary.json': `${JSON.stringify(summary, null, 2)}\n`,
  };
  // The hashes are of exactly the bytes written, so an auditor can check the files they were given.
  const sha256 = Object.fromEntries(
    Object.entries(files).map(([name, content]) => [
      name,
      createHash('sha256').update(content).digest('hex'),
    ]),
  );
  // The chain position ties the files to the audit log: check it with `keyward audit verify`.
  const manifest = { sha256, auditChain: evidence.auditChain };
  files['manifest.json'] = `${JSON.stringify(manifest, null, 2)}\n`;
  const written: string[] = [];
  try {
    // "wx" never replaces a file that appeared since the check; the manifest, written last, is
    // there only if everything it vouches for is.
    for (const [name, content] of Object.entries(files)) {
      written.push(name);
      writeFileSync(join(dir, name), content, { flag: 'wx' });
    }
  } catch (err) {
    // A file that appeared meanwhile is someone else's; what this export began is taken back.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') written.pop();
    for (const name of written) rmSync(join(dir, name), { force: true });
    throw new CliError(
      `could not write the evidence into ${dir} (${(err as Error).message}); nothing was kept`,
    );
  }
  return summary;
}
