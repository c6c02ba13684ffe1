import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A secret reference that cannot be resolved. The message names the reference, never a value. */
export class SecretReferenceError extends Error {
  override readonly name = 'SecretReferenceError';
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'the file does not exist',
  EACCES: 'the file cannot be read (permission denied)',
  EISDIR: 'the path is a directory, not a file',
};

/**
 * Resolves `env:VAR` or `file:/path` to the secret it points at. Workflows carry only these
 * references; activities resolve them at the moment of use so values never enter history.
 * An empty secret is refused like a missing one: an empty password is a mistake, never a choice.
 */
export function resolveSecretRef(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  const fail = (problem: string) => new SecretReferenceError(`secret reference ${ref}: ${problem}`);

  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    if (name === '') throw fail('the variable name is missing');
    const value = env[name];
    if (value === undefined) throw fail('the variable is not set');
    if (value === '') throw fail('the variable is empty');
    return value;
  }

  if (ref.startsWith('file:')) {
    const path = ref.slice('file:'.length);
    if (path === '') throw fail('the path is missing');
    let contents: string;
    try {
      contents = readFileSync(resolve(process.cwd(), path), 'utf8');
    } catch (error) {
      const code = String((error as { code?: unknown }).code);
      throw fail(FILE_PROBLEMS[code] ?? `the file cannot be read (${code})`);
    }
    const value = contents.replace(/\r?\n$/, '');
    if (value === '') throw fail('the file is empty');
    return value;
  }

  // Whatever was passed here instead of a reference may be the secret itself, pasted in by
  // mistake; a connection URL or anything with credentials in it is therefore not repeated.
  const shown = /[@\s]|:\/\//.test(ref) ? 'the value given' : JSON.stringify(ref);
  throw new SecretReferenceError(`${shown} is not a secret reference (use env:VAR or file:/path)`);
}
