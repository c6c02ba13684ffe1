import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validatePolicy } from '../../domain/policy';
import type { Policy, PolicyProblem } from '../../domain/policy';

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';

  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(
      `${file} is not a valid policy:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    );
  }
}

/** Reads and validates a policy file; the error lists every problem with its path. */
export function checkPolicyFile(
  file: string,
): { ok: true; policy: Policy } | { ok: false; problems: PolicyProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return {
      ok: false,
      problems: [
        { path: '(file)', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}` },
      ],
    };
  }
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: true });
  } catch (err) {
    return {
      ok: false,
      problems: [{ path: '(yaml)', message: (err as Error).message.split('\n')[0] }],
    };
  }
  return validatePolicy(document);
}

export function loadPolicyFile(file: string): Policy {
  const result = checkPolicyFile(file);
  if (!result.ok) throw new PolicyFileError(file, result.problems);
  return result.policy;
}
