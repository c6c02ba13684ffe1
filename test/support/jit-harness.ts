import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import Long from 'long';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { PolicyView } from '../../domain/access';
import { validatePolicy } from '../../domain/policy';
import type { PolicyInput } from '../../domain/policy';
import { ConnectorRegistry } from '../../integrations/connectors/registry';
import { encryptedDataConverter } from '../../integrations/temporal/codec';
import { createDb, migrate } from '../../store/db';
import type { Db } from '../../store/db';
import type { NotifyDeps } from '../../activities/notify';
import { createKeywardWorker } from '../../workers/worker';
import { jitWorkflowId } from '../../workflows/jit/definitions';
import type { JitWorkflowInput } from '../../workflows/jit/definitions';
import { jitWorkflow } from '../../workflows/jit/workflow';
import { createTestDatabase, superuserQuery, testServers, uniqueName } from './servers';
import type { TestDatabase } from './servers';

quietWorkerLogs();

/** Workers log every state change at INFO; tests want warnings only. The runtime installs once a process. */
export function quietWorkerLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
}

export const TARGET_ENV = 'KEYWARD_TEST_TARGET_URL';

/** Quotes a PostgreSQL identifier for test set-up SQL. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A keyward worker on its own task queue, with its own database and a target database,
 * against the suite's shared Temporal and PostgreSQL servers.
 */
export interface HarnessOptions {
  encrypt: boolean;
  /** A namespace of the harness's own (registered on start), for tests that list what Temporal holds. */
  namespace?: string;
  /** More secret references for the connectors, for tests with systems of their own. */
  env?: Record<string, string>;
}

export class JitHarness {
  readonly taskQueue = uniqueName('jit');
  readonly encryptionKey = randomBytes(32);
  client!: Client;
  db!: Db;
  private keywardDb!: TestDatabase;
  private target!: TestDatabase;
  private connection!: Connection;
  private nativeConnection!: NativeConnection;
  private connectors!: ConnectorRegistry;
  private worker?: { worker: Worker; running: Promise<void> };
  private readonly roles: string[] = [];
  /** Slack and email for the worker's notices; set before `start` to turn them on. */
  channels?: Omit<NotifyDeps, 'db' | 'policy'>;

  /** Histories recorded for replay are kept unencrypted, so the replay needs no key. */
  constructor(
    readonly policy: PolicyView,
    private readonly options: HarnessOptions = { encrypt: true },
  ) {}

  static fromDocument(document: PolicyInput, options?: HarnessOptions): JitHarness {
    const result = validatePolicy(document);
    if (!result.ok) throw new Error(`test policy is invalid: ${JSON.stringify(result.problems)}`);
    return new JitHarness(new PolicyView(result.policy), options);
  }

  get namespace(): string {
    return this.options.namespace ?? 'default';
  }

  /** The target database, as its superuser. */
  get targetUrl(): string {
    return this.target?.url ?? '';
  }

  get dataConverter() {
    return this.options.encrypt ? encryptedDataConverter(this.encryptionKey) : undefined;
  }

  async start(): Promise<void> {
    const { address } = testServers();
    [this.keywardDb, this.target] = await Promise.all([
      createTestDatabase('kw'),
      createTestDatabase('target'),
    ]);
    this.db = createDb(this.keywardDb.url, 4);
    await migrate(this.db);
    this.connection = await Connection.connect({ address });
    if (this.options.namespace) await registerNamespace(this.connection, this.options.namespace);
    this.client = new Client({
      connection: this.connection,
      namespace: this.namespace,
      dataConverter: this.dataConverter,
    });
    this.nativeConnection = await NativeConnection.connect({ address });
    this.connectors = new ConnectorRegistry(() => this.policy.policy.systems, {
      ...this.options.env,
      [TARGET_ENV]: this.target.url,
    });
    await this.startWorker();
  }

  /** Creates cluster-wide roles for the test; they are dropped again in `stop`. */
  async createRoles(...names: { name: string; login?: boolean }[]): Promise<void> {
    for (const { name, login } of names) {
      await superuserQuery(`CREATE ROLE ${ident(name)} ${login ? 'LOGIN' : 'NOLOGIN'}`);
      this.roles.push(name);
    }
  }

  /** A worker with only the given activities, for tests that stop a run at a chosen step. */
  async startWorkerWith(activities: object): Promise<void> {
    const worker = await Worker.create({
      connection: this.nativeConnection,
      namespace: this.namespace,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: testServers().bundlePath },
      activities,
      dataConverter: this.dataConverter,
    });
    this.worker = { worker, running: worker.run() };
  }

  get connectorRegistry(): ConnectorRegistry {
    return this.connectors;
  }

  async startWorker(): Promise<void> {
    const worker = await createKeywardWorker({
      connection: this.nativeConnection,
      namespace: this.namespace,
      db: this.db,
      connectors: this.connectors,
      policy: () => this.policy,
      workflows: this.client.workflow,
      channels: this.channels,
      encryptionKey: this.options.encrypt ? this.encryptionKey : undefined,
      secretKey: this.encryptionKey,
      taskQueue: this.taskQueue,
      workflowBundlePath: testServers().bundlePath,
    });
    this.worker = { worker, running: worker.run() };
  }

  async stopWorker(): Promise<void> {
    if (!this.worker) return;
    const { worker, running } = this.worker;
    this.worker = undefined;
    worker.shutdown();
    await running;
  }

  async request(input: Omit<JitWorkflowInput, 'requestId' | 'policy'>) {
    const requestId = randomUUID();
    const policy = this.policy.sliceFor(input.requester, input.entitlementId);
    return this.client.workflow.start(jitWorkflow, {
      workflowId: jitWorkflowId(requestId),
      taskQueue: this.taskQueue,
      args: [{ requestId, ...input, policy }],
    });
  }

  async isMember(role: string, member: string): Promise<boolean> {
    const { rowCount } = await superuserQuery(
      `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1 AND u.rolname = $2`,
      [role, member],
    );
    return rowCount === 1;
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.connectors?.closeAll();
    await this.db?.destroy();
    await this.nativeConnection?.close();
    await this.connection?.close();
    for (const role of this.roles.reverse())
      await superuserQuery(`DROP ROLE IF EXISTS ${ident(role)}`);
    await Promise.all([this.keywardDb?.drop(), this.target?.drop()]);
  }
}

/** Registers a namespace on the dev server and waits until it answers. */
async function registerNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) },
    });
  } catch (err) {
    // ALREADY_EXISTS: a second harness in the same file.
    if ((err as { code?: number }).code !== 6) throw err;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
