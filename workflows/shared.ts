import { ApplicationFailure } from '@temporalio/workflow';

/** Turns a refusal of a workflow's rules into the non-retryable failure an Update's caller receives. */
export function rejectIf(refusal: { type: string; message: string } | undefined): void {
  if (refusal)
    throw ApplicationFailure.create({
      type: refusal.type,
      message: refusal.message,
      nonRetryable: true,
    });
}

/** The message worth showing of an activity's or child's failure: its cause's, which names the target. */
export function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
