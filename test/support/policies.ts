import { TARGET_ENV } from './jit-harness';

/** The one target system of the test policies: a database of its own in the shared cluster. */
export const targetSystem = {
  id: 'target',
  type: 'postgres' as const,
  connection: `env:${TARGET_ENV}`,
};

/**
 * An entitlement on the target system that one member of `approvers` approves for up to an
 * hour; `changes` adjusts it for the test at hand.
 */
export function targetEntitlement(
  name: string,
  role: string,
  changes: Record<string, unknown> = {},
) {
  return {
    id: `target/${name}`,
    system: 'target',
    role,
    maxDuration: '1h',
    approval: { required: 1, from: ['approvers'] },
    ...changes,
  };
}
