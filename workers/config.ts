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
  KEYWARD_PUBLIC_URL: z.url().optional(),
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-/, 'must be a bot token (xoxb-...)')
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be an app-level token (xapp-...)')
    .optional(),
  SLACK_API_URL: z.url().optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  EMAIL_FROM: z.string().min(3).default('keyward <keyward@localhost>'),
  KEYWARD_MAIL_DIR: z.string().min(1).optional(),
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
  /** Base URL people reach the server at; email links point here. */
  publicUrl: string;
  slack?: { botToken: string; signingSecret?: string; appToken?: string; apiUrl?: string };
  email: { from: string; smtpUrl?: string; outboxDir?: string };
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
    publicUrl: (
      e.KEYWARD_PUBLIC_URL ?? `http://${e.KEYWARD_API_HOST}:${e.KEYWARD_API_PORT}`
    ).replace(/\/$/, ''),
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL,
        }
      : undefined,
    email: { from: e.EMAIL_FROM, smtpUrl: e.SMTP_URL, outboxDir: e.KEYWARD_MAIL_DIR },
  };
}
