import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { resolveSecretRef, SecretReferenceError } from '../../integrations/secrets/refs';

const SECRET = 'pg-s3cret-value';

describe('resolveSecretRef', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-secret-refs-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function secretFile(name: string, contents: string): string {
    const path = join(dir, name);
    writeFileSync(path, contents, { mode: 0o600 });
    return path;
  }

  function failureOf(work: () => unknown): SecretReferenceError {
    try {
      work();
    } catch (error) {
      expect(error).toBeInstanceOf(SecretReferenceError);
      return error as SecretReferenceError;
    }
    throw new Error('expected the reference to be refused');
  }

  describe('env:', () => {
    it('returns the value of the variable', () => {
      expect(resolveSecretRef('env:PG_DEMO_URL', { PG_DEMO_URL: SECRET })).toBe(SECRET);
    });

    it('keeps the value exactly, whitespace included', () => {
      expect(resolveSecretRef('env:TOKEN', { TOKEN: ' padded\n' })).toBe(' padded\n');
    });

    it('reads process.env when no environment is given', () => {
      const name = `KEYWARD_TEST_SECRET_${process.pid}`;
      process.env[name] = SECRET;
      try {
        expect(resolveSecretRef(`env:${name}`)).toBe(SECRET);
      } finally {
        delete process.env[name];
      }
    });

    it('names the reference when the variable is not set', () => {
      expect(failureOf(() => resolveSecretRef('env:PG_DEMO_URL', {})).message).toBe(
        'secret reference env:PG_DEMO_URL: the variable is not set',
      );
    });

    it('refuses an empty variable', () => {
      expect(
        failureOf(() => resolveSecretRef('env:PG_DEMO_URL', { PG_DEMO_URL: '' })).message,
      ).toBe('secret reference env:PG_DEMO_URL: the variable is empty');
    });

    it('refuses a reference without a variable name', () => {
      expect(failureOf(() => resolveSecretRef('env:', { '': SECRET })).message).toBe(
        'secret reference env:: the variable name is missing',
      );
    });
  });

  describe('file:', () => {
    it('returns the contents with one trailing newline trimmed', () => {
      const path = secretFile('one-newline', `${SECRET}\n`);
      expect(resolveSecretRef(`file:${path}`)).toBe(SECRET);
    });

    it('trims only the last newline', () => {
      const path = secretFile('two-newlines', `${SECRET}\n\n`);
      expect(resolveSecretRef(`file:${path}`)).toBe(`${SECRET}\n`);
    });

    it('trims a trailing CRLF as one newline', () => {
      const path = secretFile('crlf', `${SECRET}\r\n`);
      expect(resolveSecretRef(`file:${path}`)).toBe(SECRET);
    });

    it('returns contents without a trailing newline unchanged', () => {
      const path = secretFile('no-newline', ` ${SECRET} `);
      expect(resolveSecretRef(`file:${path}`)).toBe(` ${SECRET} `);
    });

    it('resolves a relative path from the working directory', () => {
      const path = secretFile('relative', `${SECRET}\n`);
      expect(resolveSecretRef(`file:${relative(process.cwd(), path)}`)).toBe(SECRET);
    });

    it('names the reference when the file does not exist', () => {
      const ref = `file:${join(dir, 'missing')}`;
      expect(failureOf(() => resolveSecretRef(ref)).message).toBe(
        `secret reference ${ref}: the file does not exist`,
      );
    });

    it('refuses a directory', () => {
      expect(failureOf(() => resolveSecretRef(`file:${dir}`)).message).toContain('is a directory');
    });

    it('refuses an empty file', () => {
      const path = secretFile('empty', '\n');
      expect(failureOf(() => resolveSecretRef(`file:${path}`)).message).toBe(
        `secret reference file:${path}: the file is empty`,
      );
    });

    it('refuses a reference without a path', () => {
      expect(failureOf(() => resolveSecretRef('file:')).message).toBe(
        'secret reference file:: the path is missing',
      );
    });
  });

  describe('anything else', () => {
    it('explains what a secret reference looks like', () => {
      expect(failureOf(() => resolveSecretRef('xyz')).message).toBe(
        '"xyz" is not a secret reference (use env:VAR or file:/path)',
      );
    });

    it('refuses an unsupported scheme and a scheme in capitals', () => {
      expect(failureOf(() => resolveSecretRef('vault:kv/pg')).message).toContain(
        '"vault:kv/pg" is not a secret',
      );
      expect(
        failureOf(() => resolveSecretRef('ENV:PG_DEMO_URL', { PG_DEMO_URL: SECRET })).message,
      ).toContain('"ENV:PG_DEMO_URL" is not a secret');
    });

    it('does not repeat a connection URL passed where a reference belongs', () => {
      const url = `postgres://keyward:${SECRET}@db.internal:5432/app`;
      const { message } = failureOf(() => resolveSecretRef(url));
      expect(message).toBe('the value given is not a secret reference (use env:VAR or file:/path)');
      expect(message).not.toContain(SECRET);
    });
  });

  it('leaves values out of its messages', () => {
    const path = secretFile('never', '\n');
    const messages = [
      () => resolveSecretRef('env:EMPTY', { EMPTY: '', OTHER: SECRET }),
      () => resolveSecretRef(`file:${path}`),
      () => resolveSecretRef('env:MISSING', { OTHER: SECRET }),
    ].map((work) => failureOf(work).message);
    for (const message of messages) expect(message).not.toContain(SECRET);
  });
});
