import type { WorkflowHandle } from '@temporalio/client';
import { campaignWorkflowId } from '../../domain/campaign';
import type { CampaignState } from '../../domain/campaign';
import type { PolicyInput } from '../../domain/policy';
import { LinkSigner } from '../../integrations/email/links';
import { createMailer } from '../../integrations/email/mailer';
import type { Mailer } from '../../integrations/email/mailer';
import { CampaignService } from '../../server/campaigns';
import type { NewCampaign } from '../../server/campaigns';
import { campaignStatusQuery } from '../../workflows/campaign/definitions';
import { ident, JitHarness } from './jit-harness';
import type { HarnessOptions } from './jit-harness';
import { superuserQuery } from './servers';
import { TestSmtpServer } from './smtp';
import { waitFor } from './wait';

/**
 * A keyward worker with real SMTP for campaigns, the service every channel goes through, and
 * helpers to set up standing memberships on the target and read workflow histories.
 */
export class CampaignHarness {
  readonly smtp = new TestSmtpServer();
  readonly jit: JitHarness;
  service!: CampaignService;
  private mailer?: Mailer;

  constructor(
    document: PolicyInput,
    readonly publicUrl = 'http://127.0.0.1:9',
    options: Partial<HarnessOptions> = {},
  ) {
    this.jit = JitHarness.fromDocument(document, { encrypt: true, ...options });
  }

  get client() {
    return this.jit.client;
  }

  get db() {
    return this.jit.db;
  }

  get deps() {
    return {
      db: this.jit.db,
      temporal: this.jit.client,
      policy: () => this.jit.policy,
      taskQueue: this.jit.taskQueue,
    };
  }

  async start(): Promise<void> {
    await this.smtp.start();
    this.mailer = createMailer({ from: 'keyward@example.test', smtpUrl: this.smtp.url });
    this.jit.channels = {
      mail: {
        mailer: this.mailer,
        links: new LinkSigner(this.jit.encryptionKey),
        publicUrl: this.publicUrl,
      },
    };
    await this.jit.start();
    this.service = new CampaignService(this.deps);
  }

  /** Cluster roles for the test, each login made a member of the roles listed for it. */
  async memberships(roles: string[], members: Record<string, string[]>): Promise<void> {
    await this.jit.createRoles(...roles.map((name) => ({ name })));
    await this.jit.createRoles(...Object.keys(members).map((name) => ({ name, login: true })));
    for (const [login, of] of Object.entries(members)) {
      if (of.length > 0)
        await superuserQuery(`GRANT ${of.map(ident).join(', ')} TO ${ident(login)}`);
    }
  }

  /** Roles and logins for a test at scale, every login a member of every role, in one GRANT. */
  async everyLoginInEveryRole(roles: string[], logins: string[]): Promise<void> {
    await this.jit.createRoles(...roles.map((name) => ({ name })));
    await this.jit.createRoles(...logins.map((name) => ({ name, login: true })));
    await superuserQuery(`GRANT ${roles.map(ident).join(', ')} TO ${logins.map(ident).join(', ')}`);
  }

  async launch(body: NewCampaign): Promise<string> {
    return (await this.service.start('sam', body)).id;
  }

  handle(campaignId: string): WorkflowHandle {
    return this.client.workflow.getHandle(campaignWorkflowId(campaignId));
  }

  async state(campaignId: string): Promise<CampaignState> {
    return this.handle(campaignId).query(campaignStatusQuery);
  }

  waitPhase(campaignId: string, phase: string, timeoutMs = 90_000): Promise<CampaignState> {
    return waitFor(
      `campaign ${campaignId} to reach ${phase}`,
      async () => {
        const state = await this.state(campaignId);
        return state.phase === phase ? state : undefined;
      },
      timeoutMs,
    );
  }

  /** Every execution of the campaign and its reviewers, each with the number of events in its history. */
  async historyLengths(campaignId: string): Promise<{ workflowId: string; events: number }[]> {
    const prefix = campaignWorkflowId(campaignId);
    const lengths: { workflowId: string; events: number }[] = [];
    for await (const execution of this.client.workflow.list({
      query: `WorkflowId STARTS_WITH "${prefix}"`,
    })) {
      const history = await this.client.workflow
        .getHandle(execution.workflowId, execution.runId)
        .fetchHistory();
      lengths.push({ workflowId: execution.workflowId, events: history.events?.length ?? 0 });
    }
    return lengths;
  }

  async stop(): Promise<void> {
    await this.jit.stop();
    this.mailer?.close();
    await this.smtp.stop();
  }
}
