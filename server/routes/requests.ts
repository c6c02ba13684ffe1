import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { evaluateRequest } from '../../domain/access';
import { parseDuration } from '../../domain/duration';
import type { JitState } from '../../domain/jit';
import { listRequests } from '../../store/requests';
import { decideUpdate, jitWorkflowId, revokeUpdate, statusQuery } from '../../workflows/jit/definitions';
import type { jitWorkflow } from '../../workflows/jit/workflow';
import type { Deps } from '../app';
import { fromTemporal, HttpError, statusForFailure } from '../errors';

const NewRequest = z.strictObject({
  entitlement: z.string().min(1).max(128),
  duration: z.string().refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m, 4h or 2d'),
  reason: z.string().max(2_000).default(''),
});
const Params = z.object({ id: z.uuid('is not a request id') });
const Approval = z.strictObject({ reason: z.string().max(2_000).optional() });
const NEEDS_REASON = 'a denial needs a reason';
const Denial = z.strictObject({ reason: z.string({ error: NEEDS_REASON }).min(1, NEEDS_REASON).max(2_000) });
const Revocation = z.strictObject({ reason: z.string().max(2_000).optional() });
const ListQuery = z.object({ awaiting: z.literal('me').optional(), all: z.enum(['true', 'false']).optional() });

/** A retried POST with the same Idempotency-Key names the same request, so it starts nothing new. */
function requestIdFor(identity: string, idempotencyKey: string | undefined): string {
  if (!idempotencyKey) return randomUUID();
  const hex = createHash('sha256').update(`${identity}\0${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function requestRoutes(deps: Deps) {
  const handleFor = (id: string) => deps.temporal.workflow.getHandle(jitWorkflowId(id));

  async function visibleState(request: FastifyRequest, id: string): Promise<JitState> {
    const state = await handleFor(id).query(statusQuery).catch((err) => Promise.reject(fromTemporal(err, id)));
    const who = request.identity;
    const allowed = who === state.requester || state.plan.eligibleApprovers.includes(who) || deps.policy().isAdmin(who);
    if (!allowed) {
      throw new HttpError(403, `${who} may not see request ${id}: only its requester, its approvers and admins may`);
    }
    return state;
  }

  return async (app: FastifyInstance) => {
    app.post('/v1/requests', async (request, reply) => {
      const body = NewRequest.parse(request.body);
      const input = {
        requester: request.identity,
        entitlementId: body.entitlement,
        durationMs: parseDuration(body.duration)!,
        reason: body.reason,
      };
      // The workflow evaluates the policy again; this check answers bad requests before anything starts.
      const evaluation = evaluateRequest(deps.policy(), input);
      if (!evaluation.ok) throw new HttpError(statusForFailure(evaluation.type), evaluation.message);

      const key = request.headers['idempotency-key'];
      const requestId = requestIdFor(request.identity, typeof key === 'string' ? key : undefined);
      try {
        await deps.temporal.workflow.start<typeof jitWorkflow>('jitWorkflow', {
          workflowId: jitWorkflowId(requestId),
          taskQueue: deps.taskQueue,
          // A key repeated after its request ended must not start the request a second time.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          args: [{ requestId, ...input, policy: deps.policy().sliceFor(input.requester, input.entitlementId) }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        return reply.status(200).send({ id: requestId, repeated: true });
      }
      const { plan } = evaluation;
      return reply.status(201).send({
        id: requestId,
        status: 'PENDING',
        entitlement: plan.entitlementId,
        durationMs: plan.durationMs,
        required: plan.required,
        approvers: plan.eligibleApprovers,
      });
    });

    app.get('/v1/requests', async (request) => {
      const query = ListQuery.parse(request.query);
      const who = request.identity;
      if (query.awaiting) return { requests: await listRequests(deps.db, { awaiting: who }) };
      const everyone = query.all === 'true';
      if (everyone && !deps.policy().isAdmin(who)) throw new HttpError(403, `${who} is not an admin and sees only their own requests`);
      return { requests: await listRequests(deps.db, everyone ? {} : { requester: who }) };
    });

    app.get('/v1/requests/:id', async (request) => {
      const { id } = Params.parse(request.params);
      return visibleState(request, id);
    });

    const decide = (decision: 'approve' | 'deny') => async (request: FastifyRequest) => {
      const { id } = Params.parse(request.params);
      const { reason } = (decision === 'deny' ? Denial : Approval).parse(request.body ?? {});
      return handleFor(id)
        .executeUpdate(decideUpdate, { args: [{ actor: request.identity, decision, reason }] })
        .catch((err) => Promise.reject(fromTemporal(err, id)));
    };
    app.post('/v1/requests/:id/approve', decide('approve'));
    app.post('/v1/requests/:id/deny', decide('deny'));

    app.post('/v1/requests/:id/revoke', async (request) => {
      const { id } = Params.parse(request.params);
      const { reason } = Revocation.parse(request.body ?? {});
      return handleFor(id)
        .executeUpdate(revokeUpdate, { args: [{ actor: request.identity, reason }] })
        .catch((err) => Promise.reject(fromTemporal(err, id)));
    });
  };
}
