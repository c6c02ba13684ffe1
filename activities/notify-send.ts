import { ErrorCode } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures';
import type { Db } from '../store/db';
import { claimNotice, releaseNotice } from '../store/notices';

// How every notice goes out: once per key, at Slack's pace, on each channel whatever the others do.

/**
 * Runs a Slack call. Slack's Retry-After becomes Temporal's next retry delay: the worker's Slack
 * client does not retry by itself, so an attempt that Temporal gave up on cannot post later.
 */
export async function slackCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const limited = err as { code?: string; retryAfter?: number };
    if (limited.code !== ErrorCode.RateLimitedError) throw err;
    throw ApplicationFailure.create({
      message: 'Slack asked keyward to slow down',
      type: FailureType.SlackRateLimited,
      nextRetryDelay: `${Math.max(1, limited.retryAfter ?? 1)}s`,
    });
  }
}

/** Sends once per key: claims first, gives the claim back if sending fails so a retry sends. */
export async function sendOnce(db: Db, key: string, send: () => Promise<unknown>): Promise<void> {
  if (!(await claimNotice(db, key))) return;
  try {
    await send();
  } catch (err) {
    await releaseNotice(db, key);
    throw err;
  }
}

/** Runs each channel's work whatever happened to the others; throws the first failure after. */
export async function everyChannel(works: (() => Promise<void>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const work of works) await work().catch((err: unknown) => void failures.push(err));
  if (failures.length > 0) throw failures[0];
}
