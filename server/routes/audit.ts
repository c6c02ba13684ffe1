import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listAuditEvents, verifyAuditChain } from '../../store/audit';
import type { Deps } from '../app';
import { HttpError } from '../errors';

const Query = z.object({
  subject: z.string().max(200).optional(),
  actor: z.string().max(63).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function auditRoutes(deps: Deps) {
  const adminOnly = async (request: FastifyRequest) => {
    if (!deps.policy().isAdmin(request.identity)) {
      throw new HttpError(403, `${request.identity} is not in the admin group, which alone reads the audit log`);
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
