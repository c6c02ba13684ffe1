/**
 * Credential rotation as workflows and activities speak of it. Only ids and names travel here:
 * secret values stay inside activities and the encrypted secret store.
 */

export type RotationStrategy = 'single-login' | 'alternating-logins';

/** What one rotation run does, decided from the policy and the store when it starts. */
export interface RotationPlan {
  credentialId: string;
  identity: string;
  systemId: string;
  strategy: RotationStrategy;
  /** The login that gets the new secret. */
  login: string;
  /** The version in use when the run started, which a failure falls back to. */
  current?: { versionId: string; login: string };
  overlapMs: number;
  /** Who hears of the rotation: the identity's owner and the credential's notify list. */
  tell: string[];
  /** Set on an incident's own runs, the only ones that may rotate a quarantined identity's credential. */
  incident?: 'containment' | 'restore';
}

export type PlanResult =
  | { kind: 'rotate'; plan: RotationPlan }
  /** A run the schedule started for a time that a later rotation has already covered. */
  | { kind: 'skip'; reason: string };

export const RotationStep = {
  PLANNING: 'planning',
  GENERATING: 'generating',
  SETTING: 'setting',
  TESTING: 'testing',
  PROMOTING: 'promoting',
  OVERLAP: 'overlap',
  RETIRING: 'retiring',
  ROLLING_BACK: 'rolling-back',
  DONE: 'done',
  FAILED: 'failed',
  SKIPPED: 'skipped',
} as const;
export type RotationStep = (typeof RotationStep)[keyof typeof RotationStep];

/** What a rollback achieved: whether the previous secret is back in place and works. */
export interface RollbackResult {
  /** There was a version to fall back to. */
  hadPrevious: boolean;
  restored: boolean;
  verified: boolean;
  detail?: string;
}

/** A rotation run as its status query shows it. */
export interface RotationState {
  credentialId: string;
  step: RotationStep;
  plan?: RotationPlan;
  versionId?: string;
  previousVersionId?: string;
  promotedAt?: string;
  /** When the previous version stops working (alternating logins). */
  retireAt?: string;
  failure?: { step: RotationStep; message: string };
  rollback?: RollbackResult;
  skipped?: string;
}

/** Schedule ids are `rotation/<credentialId>`; the runs they start take that id plus a time. */
export const rotationScheduleId = (credentialId: string) => `rotation/${credentialId}`;

export const ROTATION_SCHEDULE_PREFIX = 'rotation/';

const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function planFacts(plan: RotationPlan): [string, string][] {
  return [
    ['Credential', plan.credentialId],
    ['Identity', plan.identity],
    ['System', plan.systemId],
    ['Strategy', plan.strategy],
    ['Login', plan.login],
  ];
}

/** What the owner is told after a rotation; names versions and logins, never values. */
export function rotatedNotice(
  plan: RotationPlan,
  versionId: string,
  promotedAt: string,
  retireAt?: string,
) {
  const facts = planFacts(plan);
  facts.push(['New version', versionId], ['Rotated at', utc(promotedAt)]);
  if (retireAt) facts.push(['Previous secret works until', utc(retireAt)]);
  return {
    subject: `keyward rotated ${plan.credentialId}`,
    text: `The secret of ${plan.credentialId} was rotated and tested; consumers read the new one from keyward.`,
    facts,
  };
}

/** What the owner is told when a rotation failed, and what became of the previous secret. */
export function failedNotice(
  plan: RotationPlan,
  failure: { step: RotationStep; message: string },
  rollback: RollbackResult,
) {
  const facts = planFacts(plan);
  facts.push(
    ['Failed while', failure.step],
    ['Reason', failure.message],
    ['Previous secret', rollbackSummary(rollback)],
  );
  return {
    subject: `keyward could not rotate ${plan.credentialId}`,
    text: `Rotating ${plan.credentialId} failed and was rolled back; the schedule carries on.`,
    facts,
  };
}

export function rollbackSummary(rollback: RollbackResult): string {
  if (!rollback.hadPrevious) return 'there was no previous secret to fall back to';
  if (rollback.restored && rollback.verified) return 'back in place and working';
  return `could not be confirmed: ${rollback.detail ?? 'unknown'}`;
}
