import { z } from 'zod';
import { parseEncryptionKey } from '../integrations/temporal/codec';

/** What the worker and the server read from the environment; nothing else reads it. */
export const RuntimeEnv = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  KEYWARD_ENCRYPTION_KEY: z.string().min(1, 'is required: 32 random bytes in base64'),
  KEYWARD_POLICY: z.string().min(1).default('keyward.yaml'),
  KEYWARD_API_HOST: z.string().default('127.0.0.1'),
  KEYWARD_API_PORT: z.coerce.number().int().min(0).max(65_535).default(8088),
  KEYWARD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export interface RuntimeConfig {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  encryptionKey: Buffer;
  policyFile: string;
  apiHost: string;
  apiPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Validates the environment; the error names each bad variable but never echoes its value. */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const parsed = RuntimeEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    temporalAddress: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    encryptionKey: parseEncryptionKey(e.KEYWARD_ENCRYPTION_KEY),
    policyFile: e.KEYWARD_POLICY,
    apiHost: e.KEYWARD_API_HOST,
    apiPort: e.KEYWARD_API_PORT,
    logLevel: e.KEYWARD_LOG_LEVEL,
  };
}
