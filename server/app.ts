import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { ZodError } from 'zod';
import type { PolicyView } from '../domain/access';
import type { Db } from '../store/db';
import { bearerAuth } from './auth';
import { HttpError } from './errors';
import type { LinkSigner } from '../integrations/email/links';
import type { ReviewLinkSigner } from '../integrations/email/review-links';
import type { SecretCipher } from '../integrations/secrets/cipher';
import type { EmbeddedSlackReceiver } from '../integrations/slack/receiver';
import { auditRoutes } from './routes/audit';
import { campaignRoutes } from './routes/campaigns';
import { emailRoutes } from './routes/email';
import { incidentEmailRoutes } from './routes/email-incident';
import { grantRoutes } from './routes/grants';
import { incidentRoutes, incidentWebhookRoute } from './routes/incidents';
import { requestRoutes } from './routes/requests';
import { reviewRoutes } from './routes/review';
import { rotationRoutes } from './routes/rotations';
import { secretRoutes } from './routes/secrets';
import { slackRoute } from './slack';

export interface Deps {
  db: Db;
  temporal: Client;
  policy: () => PolicyView;
  taskQueue: string;
  logLevel?: string;
  /** Checks email decision links; without it the email link pages are not served. */
  links?: LinkSigner;
  /** Opens the secret store's values for their identities; without it /v1/secrets is not served. */
  secretCipher?: SecretCipher;
  /** Checks review-page links; without it the review page is not served. */
  reviewLinks?: ReviewLinkSigner;
  /** Slack's HTTP receiver, when Slack is on in HTTP mode. */
  slackReceiver?: EmbeddedSlackReceiver;
  /** Where the incident webhook's secret reference is resolved; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

/** The HTTP API: health, then everything else behind a bearer token. */
export function buildApp(deps: Deps): FastifyInstance {
  const app = Fastify({
    logger: {
      level: deps.logLevel ?? 'info',
      // Request bodies can carry justifications, headers carry tokens and email links carry theirs
      // in the query string: requests are logged by method and path only.
      serializers: {
        req: (req: { method: string; url: string }) => ({
          method: req.method,
          path: req.url.split('?')[0],
        }),
      },
    },
    bodyLimit: 64 * 1024,
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof HttpError) {
      // An answer of ours for a fault of the server's still leaves its cause in the log.
      if (err.statusCode >= 500 && err.cause)
        request.log.error({ err: err.cause }, 'request failed');
      return reply.status(err.statusCode).send({ error: err.message, ...err.details });
    }
    if (err instanceof ZodError) {
      const problems = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      return reply.status(400).send({ error: `invalid request: ${problems.join('; ')}` });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return reply.status(status).send({ error: (err as Error).message });
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal error; the server log has the details' });
  });

  app.get('/healthz', async () => ({ ok: true }));
  // These authenticate themselves: Slack by its request signature, email links by theirs,
  // detection systems by their webhook signature.
  if (deps.slackReceiver) app.register(slackRoute(deps.slackReceiver));
  app.register(incidentWebhookRoute(deps, deps.env));
  if (deps.links) {
    app.register(emailRoutes(deps, deps.links));
    app.register(incidentEmailRoutes(deps, deps.links));
  }
  if (deps.reviewLinks) app.register(reviewRoutes(deps, deps.reviewLinks));

  app.register(async (api) => {
    // onRequest: callers are authenticated before their bodies are even read.
    api.addHook(
      'onRequest',
      bearerAuth(deps.db, (identity) => deps.policy().identity(identity) !== undefined),
    );
    api.get('/v1/me', async (request) => ({
      identity: request.identity,
      admin: deps.policy().isAdmin(request.identity),
    }));
    await api.register(requestRoutes(deps));
    await api.register(grantRoutes(deps));
    await api.register(auditRoutes(deps));
    await api.register(rotationRoutes(deps));
    await api.register(incidentRoutes(deps));
    await api.register(campaignRoutes(deps));
    if (deps.secretCipher) await api.register(secretRoutes(deps, deps.secretCipher));
  });
  return app;
}
