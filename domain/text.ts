// Control characters (tab and newline aside), bidirectional overrides and lone surrogates let a
// justification rewrite what a terminal or a chat client shows, or poison the database: refused.
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why free text people typed cannot be accepted, or undefined when it can. */
export function unsafeTextProblem(text: string): string | undefined {
  return UNSAFE.test(text)
    ? 'must not contain control characters, direction overrides or broken unicode'
    : undefined;
}

export const MAX_TEXT = 2_000;

/** "1 item", "2 items": a count with its noun, for messages people read. */
export const countOf = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
