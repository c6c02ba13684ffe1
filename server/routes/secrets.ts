import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SecretCipher } from '../../integrations/secrets/cipher';
import { appendAuditEvent } from '../../store/audit';
import { findVersion, sealContext, versionWithLabel } from '../../store/credential-versions';
import type { VersionRow } from '../../store/credential-versions';
import type { Deps } from '../app';
import { HttpError } from '../errors';
import { credentialIdFrom, RotationService } from '../rotations';

/** Promotions between reading the label and the value are rare; a few tries outlast any of them. */
const READ_ATTEMPTS = 3;

/**
 * The consumer's endpoint: a non-human identity reads its own current secret with its own token.
 * Nobody else may, admins included, so that holding a secret always means being its identity.
 */
export function secretRoutes(deps: Deps, cipher: SecretCipher) {
  const rotations = new RotationService(deps);

  async function currentVersion(credentialId: string): Promise<VersionRow> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const current = await versionWithLabel(deps.db, credentialId, 'current');
      if (!current)
        throw new HttpError(409, `${credentialId} is not rotated yet: it has no secret until then`);
      const row = await findVersion(deps.db, current.id);
      // A rotation promoted another version in between: read that one instead.
      if (row?.label === 'current' && row.sealed) return row;
    }
    throw new HttpError(409, `${credentialId} is being rotated right now; read it again`);
  }

  return async (app: FastifyInstance) => {
    // A wildcard, so ids with "/" work sent as they are and URL-encoded (%2F) alike.
    app.get('/v1/secrets/*', async (request, reply) => {
      const id = credentialIdFrom((request.params as Record<string, string | undefined>)['*']);
      const who = request.identity;
      const credential = rotations.credential(id);
      if (credential.identity !== who) {
        throw new HttpError(
          403,
          `${who} may not read the secret of ${id}: only ${credential.identity} may, ` +
            'with its own token (admins and owners cannot either)',
        );
      }
      const version = await currentVersion(id);
      const secret = cipher.open(version.sealed!, sealContext(id, version.id));
      // Written before the answer: a read that left no trace would not be answered.
      await appendAuditEvent(deps.db, {
        key: `secret.read/${randomUUID()}`,
        actor: who,
        action: 'secret.read',
        subject: id,
        details: { version: version.id },
      });
      reply.header('cache-control', 'no-store');
      return {
        credentialId: id,
        login: version.login,
        secret,
        version: version.id,
        rotatedAt: version.promoted_at?.toISOString() ?? null,
      };
    });
  };
}
