import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { JitState } from '../../domain/jit';
import { listRequests } from '../../store/requests';
import type { Deps } from '../app';
import { AccessService, bodyOrEmpty, SafeText } from '../access';
import { HttpError } from '../errors';

const Params = z.object({ id: z.uuid('is not a request id') });
const Approval = z.strictObject({ reason: SafeText.optional() });
const NEEDS_REASON = 'a denial needs a reason';
const Denial = z.strictObject({
  reason: z.string({ error: NEEDS_REASON }).min(1, NEEDS_REASON).pipe(SafeText),
});
const Revocation = z.strictObject({ reason: SafeText.optional() });
const ListQuery = z.object({
  awaiting: z.literal('me').optional(),
  all: z.enum(['true', 'false']).optional(),
});

/** The Idempotency-Key header, if sent: a key that is blank, repeated or too long is refused. */
function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError(
      400,
      'Idempotency-Key must be one header of 1 to 255 visible ASCII characters',
    );
  }
  return key;
}

export function requestRoutes(deps: Deps) {
  const access = new AccessService(deps);

  async function visibleState(request: FastifyRequest, id: string): Promise<JitState> {
    const state = await access.status(id);
    const who = request.identity;
    const allowed =
      who === state.requester ||
      state.plan.eligibleApprovers.includes(who) ||
      deps.policy().isAdmin(who);
    if (!allowed) {
      throw new HttpError(
        403,
        `${who} may not see request ${id}: only its requester, its approvers and admins may`,
      );
    }
    return state;
  }

  return async (app: FastifyInstance) => {
    app.post('/v1/requests', async (request, reply) => {
      const created = await access.create(
        request.identity,
        request.body,
        idempotencyKeyOf(request),
      );
      // A repeat says only which request it named: that request may have moved on since.
      if (created.repeated) return reply.status(200).send({ id: created.id, repeated: true });
      const { repeated: _, ...fresh } = created;
      return reply.status(201).send(fresh);
    });

    app.get('/v1/requests', async (request) => {
      const query = ListQuery.parse(request.query);
      const who = request.identity;
      if (query.awaiting) return { requests: await listRequests(deps.db, { awaiting: who }) };
      const everyone = query.all === 'true';
      if (everyone && !deps.policy().isAdmin(who))
        throw new HttpError(403, `${who} is not an admin and sees only their own requests`);
      return { requests: await listRequests(deps.db, everyone ? {} : { requester: who }) };
    });

    app.get('/v1/requests/:id', async (request) => {
      const { id } = Params.parse(request.params);
      return visibleState(request, id);
    });

    const decide = (decision: 'approve' | 'deny') => async (request: FastifyRequest) => {
      const { id } = Params.parse(request.params);
      const { reason } = (decision === 'deny' ? Denial : Approval).parse(bodyOrEmpty(request.body));
      return access.decide(request.identity, id, decision, reason);
    };
    app.post('/v1/requests/:id/approve', decide('approve'));
    app.post('/v1/requests/:id/deny', decide('deny'));

    app.post('/v1/requests/:id/revoke', async (request) => {
      const { id } = Params.parse(request.params);
      const { reason } = Revocation.parse(bodyOrEmpty(request.body));
      return access.revoke(request.identity, id, reason);
    });
  };
}
