import { CronExpressionParser } from 'cron-parser';
import type { Credential } from './policy';

/** How late a rotation may run before it counts as overdue: a run itself takes minutes at most. */
export const OVERDUE_AFTER_MS = 10 * 60_000;

/** One credential's rotation as `GET /v1/rotations` shows it; names and times, never values. */
export interface RotationSummary {
  id: string;
  identity: string;
  system: string;
  strategy: Credential['strategy'];
  everyMs: number | null;
  cron: string | null;
  overlapMs: number;
  lastRotatedAt: string | null;
  /** The outcome of the last run that got past planning: rotated or failed. */
  lastStatus: string | null;
  lastError: string | null;
  currentVersion: { id: string; login: string; promotedAt: string | null } | null;
  /** Null when Temporal has no schedule for it (the policy changed and no sync ran since). */
  schedule: {
    paused: boolean;
    note: string | null;
    nextDueAt: string | null;
    running: boolean;
  } | null;
  dueAt: string;
  overdue: boolean;
}

/**
 * When the credential should next be rotated by its policy: at once if it never was, else one
 * interval, or the next cron time, after its last rotation.
 */
export function rotationDueAt(
  credential: Pick<Credential, 'every' | 'cron'>,
  lastRotatedAt: Date | undefined,
  now: Date,
): Date {
  if (!lastRotatedAt) return now;
  if (credential.every !== undefined) return new Date(lastRotatedAt.getTime() + credential.every);
  if (!credential.cron) return now;
  return CronExpressionParser.parse(credential.cron, {
    currentDate: lastRotatedAt,
    tz: 'UTC',
    strict: false,
  })
    .next()
    .toDate();
}

export function isOverdue(dueAt: Date, lastRotatedAt: Date | undefined, now: Date): boolean {
  return !lastRotatedAt || now.getTime() > dueAt.getTime() + OVERDUE_AFTER_MS;
}
