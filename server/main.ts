import { PolicyView } from '../domain/access';
import { loadPolicyFile } from '../integrations/policy/load';
import { connectTemporalClient } from '../integrations/temporal/client';
import { createDb, migrate } from '../store/db';
import { readRuntimeConfig } from '../workers/config';
import { JIT_TASK_QUEUE } from '../workflows/jit/definitions';
import { LinkSigner } from '../integrations/email/links';
import { ReviewLinkSigner } from '../integrations/email/review-links';
import { createSecretCipher } from '../integrations/secrets/cipher';
import { createSlackApp } from '../integrations/slack/app';
import { SlackDirectory } from '../integrations/slack/directory';
import { buildApp } from './app';
import { slackPorts } from './slack';

async function main(): Promise<void> {
  const config = readRuntimeConfig();
  const policy = new PolicyView(loadPolicyFile(config.policyFile));
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const temporal = await connectTemporalClient({
    address: config.temporalAddress,
    namespace: config.namespace,
    encryptionKey: config.encryptionKey,
  });
  const deps = {
    db,
    temporal,
    policy: () => policy,
    taskQueue: JIT_TASK_QUEUE,
    logLevel: config.logLevel,
  };
  const reviewLinks = new ReviewLinkSigner(config.encryptionKey);
  const slack = config.slack
    ? createSlackApp({
        ...config.slack,
        directory: (client) => new SlackDirectory(() => policy, client),
        ports: slackPorts({ ...deps, publicUrl: config.publicUrl, reviewLinks }),
        onError: (err) =>
          process.stderr.write(`slack: ${err instanceof Error ? err.message : String(err)}\n`),
      })
    : undefined;
  const app = buildApp({
    ...deps,
    links: new LinkSigner(config.encryptionKey),
    reviewLinks,
    secretCipher: createSecretCipher(config.encryptionKey),
    slackReceiver: slack?.receiver,
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  // Socket Mode dials out to Slack; in HTTP mode Slack calls /slack/events and start() does nothing.
  // Slack refusing us (a revoked app token) must not take the API and the email links down with it.
  await slack?.app.start().catch((err: unknown) => {
    process.stderr.write(
      `slack: could not connect, Slack is off: ${err instanceof Error ? err.message : String(err)}\n`,
    );
  });

  const stop = async () => {
    await slack?.app.stop();
    await app.close();
    await Promise.allSettled([db.destroy(), temporal.connection.close()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`keyward server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
