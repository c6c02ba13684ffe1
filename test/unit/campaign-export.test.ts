import fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvCell, writeEvidence } from '../../cli/evidence';

describe('csvCell', () => {
  test('quotes commas, quotes and line breaks, so a reason cannot add a column or a row', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "no"')).toBe('"say ""no"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
  });

  test('keeps a spreadsheet from reading a cell as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const start of ['+', '-', '@']) expect(csvCell(`${start}1`)).toBe(`'${start}1`);
  });
});

describe('writing the evidence', () => {
  const evidence = {
    campaign: { id: 'c1' },
    items: [{ item: 1, decision: 'certify', decidedBy: 'mia' }],
    audit: [{ seq: 1, action: 'campaign.launched' }],
    auditChain: { events: 1, firstSeq: 1, lastSeq: 1, lastHash: 'a'.repeat(64) },
  };
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'keyward-evidence-'));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  test('makes a directory that is missing and writes every file with its hash in the manifest', () => {
    const dir = join(root, 'q1', 'evidence');
    writeEvidence(dir, evidence);
    expect(readdirSync(dir).sort()).toEqual([
      'audit.json',
      'items.csv',
      'items.json',
      'manifest.json',
      'summary.json',
    ]);
  });

  test('counts every remediation result and ties the manifest to the audit chain', () => {
    const remediations = ['revoked', 'revoked', 'failed', 'superseded', 'kept', 'kept', 'kept'];
    const auditChain = { events: 9, firstSeq: 12, lastSeq: 40, lastHash: 'b'.repeat(64) };
    const summary = writeEvidence(root, {
      ...evidence,
      items: remediations.map((remediation, i) => ({ item: i + 1, remediation })),
      auditChain,
    });
    expect(summary.remediation).toEqual({ revoked: 2, failed: 1, superseded: 1, kept: 3 });
    expect(summary.auditChain).toEqual(auditChain);
    const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
    expect(manifest.auditChain).toEqual(auditChain);
    expect(Object.keys(manifest.sha256).sort()).toEqual([
      'audit.json',
      'items.csv',
      'items.json',
      'summary.json',
    ]);
    expect(JSON.parse(readFileSync(join(root, 'summary.json'), 'utf8')).auditChain).toEqual(
      auditChain,
    );
  });

  test('refuses a directory that already holds one of its files, names it and writes nothing', () => {
    writeFileSync(join(root, 'summary.json'), 'kept');
    writeFileSync(join(root, 'notes.txt'), 'unrelated');
    expect(() => writeEvidence(root, evidence)).toThrow(
      `${root} already holds summary.json; nothing was written`,
    );
    expect(readdirSync(root).sort()).toEqual(['notes.txt', 'summary.json']);
    expect(readFileSync(join(root, 'summary.json'), 'utf8')).toBe('kept');
  });

  test('leaves no manifest, and nothing half written, when a write fails part-way', () => {
    const real = fs.writeFileSync;
    let calls = 0;
    jest.spyOn(fs, 'writeFileSync').mockImplementation((...args: Parameters<typeof real>) => {
      if (++calls === 3)
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return real(...args);
    });
    expect(() => writeEvidence(root, evidence)).toThrow(
      /could not write the evidence .*ENOSPC.*nothing was kept/,
    );
    expect(readdirSync(root)).toEqual([]);
  });
});
