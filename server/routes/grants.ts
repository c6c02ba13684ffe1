import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listGrants } from '../../store/grants';
import type { Deps } from '../app';
import { HttpError } from '../errors';

const Query = z.object({
  identity: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'is not an identity id')
    .optional(),
  active: z.enum(['true', 'false']).optional(),
});

export function grantRoutes(deps: Deps) {
  return async (app: FastifyInstance) => {
    app.get('/v1/grants', async (request) => {
      const query = Query.parse(request.query);
      const who = request.identity;
      const admin = deps.policy().isAdmin(who);
      if (query.identity && query.identity !== who && !admin) {
        throw new HttpError(403, `${who} is not an admin and sees only their own grants`);
      }
      const identity = query.identity ?? (admin ? undefined : who);
      return {
        grants: await listGrants(deps.db, { identity, activeOnly: query.active === 'true' }),
      };
    });
  };
}
