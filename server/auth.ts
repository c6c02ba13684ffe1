import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db';
import { isQuarantined } from '../store/incidents';
import { identityForToken } from '../store/tokens';
import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    identity: string;
  }
}

/** Resolves the bearer token to an identity, or answers 401 without saying which part was wrong. */
export function bearerAuth(db: Db, known: (identity: string) => boolean) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'missing bearer token (Authorization: Bearer <token>)');
    const identity = await identityForToken(db, match[1]);
    if (!identity) throw new HttpError(401, 'invalid or revoked token');
    // Someone taken out of the policy loses their powers with it, whatever tokens they kept.
    if (!known(identity)) throw new HttpError(401, `${identity} is no longer in the policy`);
    // Its tokens were revoked when it was quarantined; one minted since (a dev stack's restart,
    // say) opens nothing either, not even its own rotated secret, until a restore.
    if (await isQuarantined(db, identity)) {
      throw new HttpError(
        403,
        `${identity} is quarantined by an incident until two people approve a restore`,
      );
    }
    request.identity = identity;
  };
}
