import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces name people, logins and systems, so they travel as an
 * encoded payload that the codec encrypts: anyone reading Temporal without the key sees only
 * that something failed. Loaded by path, since workflows build their failures in the sandbox.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
