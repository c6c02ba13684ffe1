import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createIncidentActivities } from '../activities/incident';
import { createCampaignActivities } from '../activities/campaign';
import { createCampaignLaunchActivities } from '../activities/campaign-launch';
import { createCampaignRemediationActivities } from '../activities/campaign-remediation';
import { createCampaignNotifyActivities } from '../activities/campaign-notify';
import { createJitActivities } from '../activities/jit';
import { createNotifyActivities } from '../activities/notify';
import { createReconcileActivities } from '../activities/reconcile';
import { createRotationActivities } from '../activities/rotation';
import { createRotationWebhookActivities } from '../activities/rotation-webhooks';
import type { IncidentActivityDeps } from '../activities/incident';
import type { ReconcileDeps } from '../activities/reconcile';
import type { NotifyDeps } from '../activities/notify';
import type { PolicyView } from '../domain/access';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { ReviewLinkSigner } from '../integrations/email/review-links';
import { createSecretCipher } from '../integrations/secrets/cipher';
import { encryptedDataConverter } from '../integrations/temporal/codec';
import type { Db } from '../store/db';
import { JIT_TASK_QUEUE } from '../workflows/jit/definitions';

export interface KeywardWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  connectors: ConnectorRegistry;
  policy: () => PolicyView;
  /** Lets the sweep ask Temporal whether a request's workflow still runs, and incidents end requests. */
  workflows: ReconcileDeps['workflows'] & IncidentActivityDeps['workflows'];
  /** Slack and email, where configured; without them notices are skipped. */
  channels?: Omit<NotifyDeps, 'db' | 'policy'>;
  /** Without a key payloads travel unencrypted; only tests that replay histories do that. */
  encryptionKey?: Buffer;
  /** The key the secret store's values are sealed under (derived from, never equal to, it). */
  secretKey: Buffer;
  /** Where the credentials' webhook secrets are resolved; the process environment by default. */
  env?: NodeJS.ProcessEnv;
  taskQueue?: string;
  /** Where review-page links point; the server's public address. */
  publicUrl?: string;
  /** A prebuilt workflow bundle; without it the worker bundles the workflows at start. */
  workflowBundlePath?: string;
}

/** The worker that runs keyward's workflows and activities on one task queue. */
export function createKeywardWorker(options: KeywardWorkerOptions): Promise<Worker> {
  const workflows = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: require.resolve('../workflows') };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? JIT_TASK_QUEUE,
    ...workflows,
    activities: {
      ...createJitActivities({ db: options.db, connectors: options.connectors }),
      ...createNotifyActivities({ db: options.db, policy: options.policy, ...options.channels }),
      ...createIncidentActivities({
        db: options.db,
        connectors: options.connectors,
        workflows: options.workflows,
      }),
      ...createReconcileActivities({
        db: options.db,
        connectors: options.connectors,
        workflows: options.workflows,
      }),
      ...createRotationActivities({
        db: options.db,
        connectors: options.connectors,
        policy: options.policy,
        cipher: createSecretCipher(options.secretKey),
      }),
      ...createRotationWebhookActivities({
        db: options.db,
        policy: options.policy,
        env: options.env,
      }),
      ...createCampaignActivities({
        db: options.db,
        connectors: options.connectors,
        policy: options.policy,
        workflows: options.workflows,
      }),
      ...createCampaignLaunchActivities({
        db: options.db,
        connectors: options.connectors,
        policy: options.policy,
      }),
      ...createCampaignRemediationActivities({
        db: options.db,
        connectors: options.connectors,
        policy: options.policy,
        workflows: options.workflows,
      }),
      ...createCampaignNotifyActivities({
        db: options.db,
        policy: options.policy,
        slack: options.channels?.slack,
        mail: options.channels?.mail,
        // Review links are signed under a key derived from the same master key the server holds.
        reviewLinks: new ReviewLinkSigner(options.secretKey),
        publicUrl:
          options.channels?.mail?.publicUrl ?? options.publicUrl ?? 'http://localhost:8080',
      }),
    },
    dataConverter: options.encryptionKey
      ? encryptedDataConverter(options.encryptionKey)
      : undefined,
  });
}
