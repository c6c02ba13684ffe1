import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_ITEMS, MAX_SEQ } from '../../domain/campaign';
import { bodyOrEmpty, SafeText } from '../access';
import type { Deps } from '../app';
import { campaignIdFrom, CampaignService } from '../campaigns';

const Seq = z.number().int().min(1).max(MAX_SEQ);

// Confirming and cancelling take no options: a body that names one is refused, not ignored.
const NoOptions = z.strictObject({});

const Decisions = z.strictObject({
  decisions: z
    .array(
      z.strictObject({
        item: Seq,
        decision: z.enum(['certify', 'revoke']),
        reason: SafeText.optional(),
      }),
    )
    .min(1)
    .max(MAX_ITEMS),
});

const ItemsPage = z.strictObject({
  offset: z.coerce.number().int().min(0).max(MAX_SEQ).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_ITEMS).default(MAX_ITEMS),
});

const Delegation = z.strictObject({
  items: z.array(Seq).min(1).max(MAX_ITEMS),
  to: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'is not an identity id'),
});

/** Campaigns: admins start, follow, confirm, cancel and export them; reviewers decide their items. */
export function campaignRoutes(deps: Deps) {
  const campaigns = new CampaignService(deps);
  const idOf = (request: FastifyRequest) =>
    campaignIdFrom((request.params as Record<string, string | undefined>).campaignId);

  return async (app: FastifyInstance) => {
    app.post('/v1/campaigns', async (request, reply) => {
      const started = await campaigns.start(request.identity, bodyOrEmpty(request.body));
      return reply.status(201).send(started);
    });

    app.get('/v1/campaigns', async (request) => ({
      campaigns: await campaigns.list(request.identity),
    }));

    app.get('/v1/campaigns/:campaignId', async (request) =>
      campaigns.status(request.identity, idOf(request)),
    );

    // A reviewer may hold far more items than one answer should carry: they come a page at a time.
    app.get('/v1/campaigns/:campaignId/items', async (request) => {
      const page = ItemsPage.parse(request.query ?? {});
      const { items, counts } = await campaigns.itemsFor(request.identity, idOf(request), page);
      return { items, total: counts.total };
    });

    // Anyone may send decisions; the reviewer workflow decides whether they are theirs to make.
    app.post('/v1/campaigns/:campaignId/decisions', async (request) => {
      const id = idOf(request);
      const { decisions } = Decisions.parse(request.body);
      return campaigns.decide(
        request.identity,
        id,
        decisions.map((d) => ({ seq: d.item, decision: d.decision, reason: d.reason })),
        'api',
      );
    });

    app.post('/v1/campaigns/:campaignId/delegations', async (request) => {
      const id = idOf(request);
      const { items, to } = Delegation.parse(request.body);
      return campaigns.delegate(request.identity, id, items, to);
    });

    app.post('/v1/campaigns/:campaignId/confirm', async (request) => {
      NoOptions.parse(bodyOrEmpty(request.body));
      return campaigns.confirm(request.identity, idOf(request));
    });

    app.post('/v1/campaigns/:campaignId/decline', async (request) => {
      NoOptions.parse(bodyOrEmpty(request.body));
      return campaigns.decline(request.identity, idOf(request));
    });

    // Failed revocations of a completed campaign, tried again once the target is fixed.
    app.post('/v1/campaigns/:campaignId/remediate', async (request, reply) => {
      NoOptions.parse(bodyOrEmpty(request.body));
      return reply.status(202).send(await campaigns.remediate(request.identity, idOf(request)));
    });

    app.post('/v1/campaigns/:campaignId/cancel', async (request) => {
      NoOptions.parse(bodyOrEmpty(request.body));
      return campaigns.cancel(request.identity, idOf(request));
    });

    app.get('/v1/campaigns/:campaignId/export', async (request) =>
      campaigns.export(request.identity, idOf(request)),
    );
  };
}
