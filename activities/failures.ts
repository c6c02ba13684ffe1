import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { ConnectorError } from '../integrations/connectors/types';
import type { TargetConnector } from '../integrations/connectors/types';
import { SecretReferenceError } from '../integrations/secrets/refs';

const TYPE_BY_KIND = {
  'permission-denied': FailureType.ConnectorPermissionDenied,
  'unknown-object': FailureType.ConnectorUnknownObject,
  'invalid-input': FailureType.InvalidInput,
  transient: FailureType.ConnectorUnavailable,
} as const;

/**
 * Turns a target's or the configuration's failure into one Temporal knows whether to retry:
 * only a target that did not answer is worth another try. Connectors already name the call,
 * the login and the system in their messages; a secret reference is named here.
 */
export function targetFailure(err: unknown, doing: string): unknown {
  if (err instanceof SecretReferenceError) {
    return ApplicationFailure.nonRetryable(
      `Could not ${doing}: ${err.message}`,
      FailureType.Misconfigured,
    );
  }
  if (!(err instanceof ConnectorError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: TYPE_BY_KIND[err.kind],
    nonRetryable: !err.retryable,
  });
}

/** Runs one call on a target system; a failure comes out as `targetFailure` tells it. */
export async function onTarget<T>(
  connectors: Pick<ConnectorRegistry, 'get'>,
  systemId: string,
  doing: string,
  work: (connector: TargetConnector) => Promise<T>,
): Promise<T> {
  try {
    return await work(connectors.get(systemId));
  } catch (err) {
    throw targetFailure(err, doing);
  }
}
