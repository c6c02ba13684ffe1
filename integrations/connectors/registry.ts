import type { System } from '../../domain/policy';
import { resolveSecretRef } from '../secrets/refs';
import { createPostgresConnector } from './postgres';
import type { TargetConnector } from './types';
import { ConnectorError } from './types';

/** Hands out one connector per target system, created on first use from the policy. */
export class ConnectorRegistry {
  private readonly connectors = new Map<string, TargetConnector>();

  constructor(
    private readonly systems: () => readonly System[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get(systemId: string): TargetConnector {
    const existing = this.connectors.get(systemId);
    if (existing) return existing;
    const system = this.systems().find((s) => s.id === systemId);
    if (!system)
      throw new ConnectorError('unknown-object', `system ${systemId} is not in the policy`);
    const connector = createPostgresConnector({
      systemId,
      connectionString: resolveSecretRef(system.connection, this.env),
    });
    this.connectors.set(systemId, connector);
    return connector;
  }

  async closeAll(): Promise<void> {
    const open = [...this.connectors.values()];
    this.connectors.clear();
    await Promise.allSettled(open.map((c) => c.close()));
  }
}
