import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { FailureType } from '../domain/failures';

/** An error that becomes an HTTP response with this status and message, and `details` beside it. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const STATUS_BY_TYPE: Record<string, number> = {
  [FailureType.InvalidInput]: 400,
  [FailureType.PolicyViolation]: 422,
  [FailureType.NotAllowed]: 403,
  [FailureType.AlreadyDecided]: 409,
  [FailureType.DuplicateDecision]: 409,
  [FailureType.CampaignClosed]: 409,
  [FailureType.NotReady]: 503,
};

/**
 * Turns a refusal from a workflow (an update's validator, mostly) into an HttpError; `noun` names
 * what the workflow stands for in the messages ("request", "incident").
 */
export function fromTemporal(err: unknown, id: string, noun = 'request'): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { type?: string; message?: string } | undefined;
    const status = STATUS_BY_TYPE[cause?.type ?? ''];
    // A refusal of a kind nobody mapped is a fault of ours: logged, and answered without its text.
    if (!status) return err;
    return new HttpError(status, cause?.message ?? `the ${noun} refused the update`);
  }
  // Updates to a workflow that has finished fail before any validator runs. The client reports
  // them as WorkflowNotFoundError, so this comes first: the request or incident exists, it has ended.
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new HttpError(409, `${noun} ${id} has already ended`);
  }
  // An update that raced the request's end is told it ended, not that it never was.
  if (err instanceof WorkflowNotFoundError && /aborted by closing workflow/i.test(err.message)) {
    return new HttpError(409, `${noun} ${id} has already ended`);
  }
  if (err instanceof WorkflowNotFoundError) {
    return new HttpError(404, `no ${noun} ${id}`);
  }
  return err;
}

export function statusForFailure(type: string): number {
  return STATUS_BY_TYPE[type] ?? 400;
}
