/**
 * The one list of failure types keyward raises as ApplicationFailures. Clients map them to
 * HTTP statuses and messages; workflows and activities mark the ones retrying cannot fix as
 * non-retryable.
 */
export const FailureType = {
  /** The request breaks a policy rule: ineligible entitlement, duration over the maximum. */
  PolicyViolation: 'PolicyViolation',
  /** The input is malformed or names something that does not exist. */
  InvalidInput: 'InvalidInput',
  /** The actor may not do this: not an approver, or the requester approving their own request. */
  NotAllowed: 'NotAllowed',
  /** The request is no longer in a state that accepts this message. */
  AlreadyDecided: 'AlreadyDecided',
  /** The same approver already approved. */
  DuplicateDecision: 'DuplicateDecision',
  /** keyward's own configuration is wrong (an unset secret reference, say); an operator must fix it. */
  Misconfigured: 'Misconfigured',
  /** A target system did not answer in time; trying again later may work. */
  ConnectorUnavailable: 'ConnectorUnavailable',
  /** A target system refused us for lack of privilege; an operator must fix its grants. */
  ConnectorPermissionDenied: 'ConnectorPermissionDenied',
  /** A target system does not know the role or login; the policy or the target is wrong. */
  ConnectorUnknownObject: 'ConnectorUnknownObject',
  /** A credential rotation could not be completed; the previous secret was put back. */
  RotationFailed: 'RotationFailed',
  /** A consumer's webhook did not answer with 2xx; it is called again later. */
  WebhookFailed: 'WebhookFailed',
  /** Slack asked us to slow down; the notice is retried after the pause it named. */
  SlackRateLimited: 'SlackRateLimited',
  /** The workflow is still starting up; the same message sent again in a moment is taken. */
  NotReady: 'NotReady',
  /** A campaign no longer takes decisions: its deadline passed or it was cancelled. */
  CampaignClosed: 'CampaignClosed',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * The failures that no retry can fix: bad input, a broken rule, keyward's own configuration, a
 * target that refuses us or lacks the object. Every activity proxy stops retrying on these.
 */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.PolicyViolation,
  FailureType.Misconfigured,
  FailureType.ConnectorPermissionDenied,
  FailureType.ConnectorUnknownObject,
];
