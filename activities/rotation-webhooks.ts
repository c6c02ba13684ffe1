import { ApplicationFailure } from '@temporalio/activity';
import type { PolicyView } from '../domain/access';
import { FailureType } from '../domain/failures';
import type { RotationPlan } from '../domain/rotation';
import { resolveSecretRef, SecretReferenceError } from '../integrations/secrets/refs';
import { postSignedWebhook } from '../integrations/webhooks/signature';
import { findVersion } from '../store/credential-versions';
import type { Db } from '../store/db';
import { claimNotice, releaseNotice } from '../store/notices';

export interface RotationWebhookDeps {
  db: Db;
  policy: () => PolicyView;
  /** Where the consumers' webhook secrets are resolved; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

/** The consumers of a rotated credential hear of it through their webhooks. */
export function createRotationWebhookActivities(deps: RotationWebhookDeps) {
  const { db } = deps;

  /** Calls once per key: claimed first, given back if the call fails so that a retry makes it. */
  async function once(key: string, send: () => Promise<void>): Promise<void> {
    if (!(await claimNotice(db, key))) return;
    try {
      await send();
    } catch (err) {
      await releaseNotice(db, key);
      throw err;
    }
  }

  return {
    /**
     * Tells the credential's consumers through their webhooks, each signed with its own secret.
     * The event carries ids and times only; consumers fetch the secret from keyward.
     */
    async callWebhooks(input: {
      plan: RotationPlan;
      versionId: string;
      workflowId: string;
    }): Promise<void> {
      const { credentialId } = input.plan;
      const webhooks = deps.policy().credential(credentialId)?.webhooks ?? [];
      const version = await findVersion(db, input.versionId);
      if (!version) {
        throw ApplicationFailure.nonRetryable(
          `version ${input.versionId} does not exist`,
          FailureType.InvalidInput,
        );
      }
      const event = {
        type: 'credential.rotated',
        credentialId,
        version: version.id,
        login: version.login,
        rotatedAt: version.promoted_at?.toISOString(),
        ...(input.plan.overlapMs > 0 &&
          version.promoted_at && {
            previousValidUntil: new Date(
              version.promoted_at.getTime() + input.plan.overlapMs,
            ).toISOString(),
          }),
      };
      const failures: string[] = [];
      let retryable = false;
      for (const [index, hook] of webhooks.entries()) {
        await once(`${input.workflowId}/webhook/${index}`, async () => {
          await postSignedWebhook(hook.url, resolveSecretRef(hook.secret, deps.env), event);
        }).catch((err: unknown) => {
          // A webhook whose secret cannot be read fails the same way on every retry.
          retryable ||= !(err instanceof SecretReferenceError);
          failures.push((err as Error).message);
        });
      }
      if (failures.length) {
        const message = `webhooks of ${credentialId} failed: ${failures.join('; ')}`;
        // Webhooks already called are not called again: each one's success is remembered.
        throw retryable
          ? ApplicationFailure.retryable(message, FailureType.WebhookFailed)
          : ApplicationFailure.nonRetryable(message, FailureType.Misconfigured);
      }
    },
  };
}

export type RotationWebhookActivities = ReturnType<typeof createRotationWebhookActivities>;
