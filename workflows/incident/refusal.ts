import { ApplicationFailure } from '@temporalio/workflow';

/** Turns a refusal of the incident rules into the non-retryable failure an Update's caller receives. */
export function rejectIf(refusal: { type: string; message: string } | undefined): void {
  if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
}
