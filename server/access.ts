import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import { z } from 'zod';
import { evaluateRequest } from '../domain/access';
import { parseDuration } from '../domain/duration';
import { groupsText } from '../domain/jit';
import type { JitState } from '../domain/jit';
import { MAX_TEXT, unsafeTextProblem } from '../domain/text';
import { isQuarantined } from '../store/incidents';
import { releaseRequest, reserveRequest } from '../store/requests';
import {
  decideUpdate,
  jitWorkflowId,
  revokeUpdate,
  statusQuery,
} from '../workflows/jit/definitions';
import type { jitWorkflow } from '../workflows/jit/workflow';
import type { Deps } from './app';
import { fromTemporal, HttpError, statusForFailure } from './errors';
import { refuseIfQuarantined } from './quarantine';

/** Free text people type: bounded, and free of characters that could disguise what it says. */
export const SafeText = z
  .string()
  .max(MAX_TEXT)
  .superRefine((text, ctx) => {
    const problem = unsafeTextProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((text) => text.normalize('NFC'));

/** A missing body means no options; any body sent, JSON `null` included, is for the schema to judge. */
export const bodyOrEmpty = (body: unknown): unknown => (body === undefined ? {} : body);

export const NewRequest = z.strictObject({
  entitlement: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._/-]+$/, 'is not an entitlement id'),
  duration: z
    .string()
    .refine(
      (text) => parseDuration(text) !== undefined,
      'must be a duration such as 30m, 4h or 2d',
    ),
  reason: SafeText.default(''),
});
export type NewRequest = z.input<typeof NewRequest>;

export interface Created {
  id: string;
  repeated: boolean;
  status: 'PENDING';
  entitlement: string;
  durationMs: number;
  required: number;
  approvers: string[];
}

/** A retried request with the same idempotency key names the same request, so it starts nothing new. */
function requestIdFor(identity: string, idempotencyKey: string | undefined): string {
  if (!idempotencyKey) return randomUUID();
  const hex = createHash('sha256').update(`${identity}\0${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * What every channel (REST, Slack, email links) does to requests, in one place. Refusals are
 * HttpErrors whose message is fit to show the person who asked.
 */
export class AccessService {
  constructor(private readonly deps: Deps) {}

  async create(requester: string, body: unknown, idempotencyKey?: string): Promise<Created> {
    const parsed = NewRequest.parse(body);
    const input = {
      requester,
      entitlementId: parsed.entitlement,
      durationMs: parseDuration(parsed.duration)!,
      reason: parsed.reason,
    };
    // The workflow evaluates the policy again; this check answers bad requests before anything starts.
    const policy = this.deps.policy();
    const evaluation = evaluateRequest(policy, input);
    if (!evaluation.ok) throw new HttpError(statusForFailure(evaluation.type), evaluation.message);

    // A quarantined identity asks for nothing until its incident is restored (its grants check it again).
    if (await isQuarantined(this.deps.db, requester)) {
      throw new HttpError(
        403,
        `${requester} is quarantined by an incident and may not request access`,
      );
    }
    const requestId = requestIdFor(requester, idempotencyKey);
    const { plan } = evaluation;
    const now = Date.now();
    const reservation = await reserveRequest(
      this.deps.db,
      {
        requestId,
        requester,
        reason: input.reason,
        plan,
        status: 'PENDING',
        createdAt: new Date(now).toISOString(),
        approvalDeadline: new Date(now + plan.approvalWindowMs).toISOString(),
        approvals: [],
      },
      jitWorkflowId(requestId),
    );
    if (!reservation.ok) {
      const status = reservation.status.toLowerCase();
      throw new HttpError(
        409,
        `${requester} already has request ${reservation.liveId} for ${input.entitlementId} (${status})`,
      );
    }
    // Compared once the row is there, whoever wrote it: two posts racing with one key and
    // different bodies cannot both be answered as the same request.
    if (idempotencyKey) await this.checkSameRequest(requestId, input);
    const created: Created = {
      id: requestId,
      repeated: false,
      status: 'PENDING',
      entitlement: plan.entitlementId,
      durationMs: plan.durationMs,
      required: plan.required,
      approvers: plan.eligibleApprovers,
    };
    try {
      await this.deps.temporal.workflow.start<typeof jitWorkflow>('jitWorkflow', {
        workflowId: jitWorkflowId(requestId),
        taskQueue: this.deps.taskQueue,
        // A key repeated after its request ended must not start the request a second time.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ requestId, ...input, policy: policy.sliceFor(requester, input.entitlementId) }],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return { ...created, repeated: true };
      await releaseRequest(this.deps.db, requestId);
      throw err;
    }
    return created;
  }

  /**
   * The workflow knows who could approve when the request was made; the policy may have changed
   * since. Someone taken out of the approver groups decides nothing, whatever the snapshot says.
   */
  private async checkStillApprover(actor: string, requestId: string): Promise<void> {
    const row = await this.deps.db
      .selectFrom('requests')
      .select(['entitlement_id', 'requester'])
      .where('id', '=', requestId)
      .executeTakeFirst();
    // The requester hears the reason that matters most to them from the workflow: never their own.
    const entitlement =
      row && row.requester !== actor && this.deps.policy().entitlement(row.entitlement_id);
    if (!entitlement) return;
    const approvers = entitlement.approval.from.flatMap((group) =>
      this.deps.policy().members(group),
    );
    if (!approvers.includes(actor)) {
      const groups = groupsText(entitlement.approval.from);
      throw new HttpError(
        403,
        `${actor} is not an approver for ${entitlement.id} (its approvers are the members of ${groups})`,
      );
    }
  }

  /** A key repeated with another body is a client bug: answering "repeated" would hide it. */
  private async checkSameRequest(
    requestId: string,
    input: { entitlementId: string; durationMs: number; reason: string },
  ): Promise<void> {
    const earlier = await this.deps.db
      .selectFrom('requests')
      .select(['entitlement_id', 'duration_ms', 'reason'])
      .where('id', '=', requestId)
      .executeTakeFirst();
    const same =
      !earlier ||
      (earlier.entitlement_id === input.entitlementId &&
        earlier.duration_ms === input.durationMs &&
        earlier.reason === input.reason);
    if (!same)
      throw new HttpError(422, 'this Idempotency-Key was first used for a different request');
  }

  /** The request's state, from its workflow. */
  status(requestId: string): Promise<JitState> {
    return this.deps.temporal.workflow
      .getHandle(jitWorkflowId(requestId))
      .query(statusQuery)
      .catch((err) => Promise.reject(fromTemporal(err, requestId)));
  }

  async decide(
    actor: string,
    requestId: string,
    decision: 'approve' | 'deny',
    reason?: string,
  ): Promise<JitState> {
    await refuseIfQuarantined(this.deps.db, actor);
    await this.checkStillApprover(actor, requestId);
    return this.deps.temporal.workflow
      .getHandle(jitWorkflowId(requestId))
      .executeUpdate(decideUpdate, { args: [{ actor, decision, reason }] })
      .catch((err) => Promise.reject(fromTemporal(err, requestId)));
  }

  async revoke(actor: string, requestId: string, reason?: string): Promise<JitState> {
    await refuseIfQuarantined(this.deps.db, actor);
    return this.deps.temporal.workflow
      .getHandle(jitWorkflowId(requestId))
      .executeUpdate(revokeUpdate, { args: [{ actor, reason }] })
      .catch((err) => Promise.reject(fromTemporal(err, requestId)));
  }
}
