import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../app';
import { bodyOrEmpty, SafeText } from '../access';
import { credentialIdFrom, RotationService } from '../rotations';

// The reason becomes the schedule's note, which Temporal bounds and keeps outside the codec:
// a short line, with the audit log as the record.
const MAX_REASON = 200;
const Reason = z.strictObject({
  reason: SafeText.pipe(
    z.string().max(MAX_REASON, `must be at most ${MAX_REASON} characters`),
  ).optional(),
});

/** Credential rotation: the list, and what admins and owners do to one credential's schedule. */
export function rotationRoutes(deps: Deps) {
  const rotations = new RotationService(deps);

  // Each id in the path is sent URL-encoded (pg-demo%2Fsvc-etl); Fastify decodes it.
  const idOf = (request: FastifyRequest) =>
    credentialIdFrom((request.params as Record<string, string | undefined>).credentialId);
  // The body is read after the id is known to be well formed, so bad input is named in that order.
  const reasonOf = (request: FastifyRequest) => Reason.parse(bodyOrEmpty(request.body)).reason;

  return async (app: FastifyInstance) => {
    app.get('/v1/rotations', async (request) => ({
      rotations: await rotations.list(request.identity),
    }));

    app.post('/v1/rotations/sync', async (request) => rotations.sync(request.identity));

    app.post('/v1/rotations/:credentialId/rotate', async (request, reply) => {
      const id = idOf(request);
      const requested = await rotations.rotate(request.identity, id, reasonOf(request));
      return reply.status(202).send(requested);
    });

    app.post('/v1/rotations/:credentialId/pause', async (request) => {
      const id = idOf(request);
      return rotations.pause(request.identity, id, reasonOf(request));
    });

    app.post('/v1/rotations/:credentialId/resume', async (request) => {
      const id = idOf(request);
      return rotations.resume(request.identity, id, reasonOf(request));
    });
  };
}
