import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listAuditEvents, verifyAuditChain } from '../../store/audit';
import type { Deps } from '../app';
import { HttpError } from '../errors';

// Subjects are request ids, credential ids and identity ids; anything else matches no event.
const Name = (max: number) =>
  z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,${max - 1}}$`), 'is not an id keyward knows');

const Query = z.object({
  subject: Name(200).optional(),
  actor: Name(63).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function auditRoutes(deps: Deps) {
  const adminOnly = async (request: FastifyRequest) => {
    if (!deps.policy().isAdmin(request.identity)) {
      throw new HttpError(
        403,
        `${request.identity} is not in the admin group, which alone reads the audit log`,
      );
    }
  };

  return async (app: FastifyInstance) => {
    app.get('/v1/audit', { preHandler: adminOnly }, async (request) => ({
      events: await listAuditEvents(deps.db, Query.parse(request.query)),
    }));
    app.get('/v1/audit/verify', { preHandler: adminOnly }, async (request) => {
      const { anchor } = z
        .object({
          anchor: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex hash')
            .optional(),
        })
        .parse(request.query);
      return verifyAuditChain(deps.db, { anchor });
    });
  };
}
