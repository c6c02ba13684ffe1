import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { resolveSecretRef, SecretReferenceError } from '../../integrations/secrets/refs';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from '../../integrations/webhooks/signature';
import { claimWebhookDelivery, releaseWebhookDelivery } from '../../store/incidents';
import type { Deps } from '../app';
import { SafeText } from '../access';
import { HttpError } from '../errors';
import { IncidentService } from '../incidents';

const Params = z.object({ id: z.uuid('is not an incident id') });
const Reason = z.strictObject({ reason: SafeText.optional() });

/** How far a webhook's timestamp may be from the server's clock, either way. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;

/** The actor of incidents a detection system reports through the signed webhook. */
export const WEBHOOK_ACTOR = 'keyward:webhook';

/** Incidents for admins and the incident group, behind the bearer token. */
export function incidentRoutes(deps: Deps) {
  const incidents = new IncidentService(deps);
  const idOf = (request: FastifyRequest) => Params.parse(request.params).id;
  const reasonOf = (request: FastifyRequest) => Reason.parse(request.body ?? {}).reason;

  return async (app: FastifyInstance) => {
    app.post('/v1/incidents', async (request, reply) => {
      const opened = await incidents.open(request.identity, request.body);
      return reply.status(opened.joined ? 200 : 201).send(opened);
    });
    app.get('/v1/incidents', async (request) => ({
      incidents: await incidents.list(request.identity),
    }));
    app.get('/v1/incidents/:id', async (request) =>
      incidents.status(request.identity, idOf(request)),
    );
    app.get('/v1/incidents/:id/report', async (request) =>
      incidents.report(request.identity, idOf(request)),
    );
    app.post('/v1/incidents/:id/restore', async (request) => {
      const id = idOf(request);
      return incidents.approveRestore(request.identity, id, reasonOf(request));
    });
    app.post('/v1/incidents/:id/close', async (request) => {
      const id = idOf(request);
      return incidents.close(request.identity, id, reasonOf(request));
    });
    app.post('/v1/incidents/:id/retry', async (request) => {
      const id = idOf(request);
      return incidents.retry(request.identity, id, reasonOf(request));
    });
  };
}

/**
 * The detection systems' endpoint. It has no bearer token: the HMAC-SHA-256 signature over
 * "<timestamp>.<raw body>" is its authentication, so it is checked on the bytes as they came,
 * before anything is parsed, and nothing happens unless it holds, is fresh and is new.
 */
export function incidentWebhookRoute(deps: Deps, env: NodeJS.ProcessEnv = process.env) {
  const incidents = new IncidentService(deps);

  // An unset variable is keyward's misconfiguration, said without the reference's value.
  const webhookSecret = (ref: string) => {
    try {
      return resolveSecretRef(ref, env);
    } catch (err) {
      if (!(err instanceof SecretReferenceError)) throw err;
      throw new HttpError(503, 'the incident webhook secret is not available to the server');
    }
  };

  return async (app: FastifyInstance) => {
    // Inside this plugin only: JSON arrives as the raw string that was signed.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );

    app.post('/v1/hooks/incident', async (request, reply) => {
      const ref = deps.policy().policy.settings.incidentWebhookSecret;
      if (!ref)
        throw new HttpError(
          404,
          'the incident webhook is off: settings.incidentWebhookSecret is not set',
        );
      const body = typeof request.body === 'string' ? request.body : '';
      const timestamp = Number(request.headers[TIMESTAMP_HEADER]);
      const signature = request.headers[SIGNATURE_HEADER];
      if (!Number.isInteger(timestamp) || typeof signature !== 'string') {
        throw new HttpError(
          401,
          `the request needs ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers`,
        );
      }
      if (!verifyWebhookSignature(webhookSecret(ref), timestamp, body, signature)) {
        throw new HttpError(401, 'the signature does not match');
      }
      if (Math.abs(Date.now() - timestamp * 1000) > WEBHOOK_TOLERANCE_MS) {
        throw new HttpError(
          401,
          'the timestamp is more than five minutes away from the server clock',
        );
      }
      // Only after the signature holds, so an unsigned flood cannot fill the table.
      if (!(await claimWebhookDelivery(deps.db, signature, WEBHOOK_TOLERANCE_MS))) {
        throw new HttpError(409, 'this delivery was received before');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new HttpError(400, 'the body is not JSON');
      }
      const opened = await incidents
        .open(WEBHOOK_ACTOR, parsed, { signed: true })
        .catch(async (err: unknown) => {
          // A refusal of the report stands; a fault of keyward's must not turn the sender's retry into a replay.
          if (!(err instanceof HttpError && err.statusCode < 500))
            await releaseWebhookDelivery(deps.db, signature);
          throw err;
        });
      return reply.status(opened.joined ? 200 : 201).send(opened);
    });
  };
}
