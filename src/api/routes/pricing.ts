/**
 * Model pricing: `GET /api/pricing` (any key), `PUT /api/pricing` and `DELETE /api/pricing?model=`
 * (admin keys). The cost column of usage rows is computed with these prices when a hop is recorded:
 * the workspace's own price for a model wins over the deployment's list price, and a change applies to
 * hops recorded after it.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { PricingRepository, ModelPrice } from '../../db/pricing-repository';
import { ApiError } from '../errors';
import { modelName, timestamp } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

const usdPerMillion = z.number().min(0).max(1_000_000);

const priceSchema = z.object({
  model: z.string(),
  inputUsdPerMillion: z.number(),
  outputUsdPerMillion: z.number(),
  source: z.enum(['workspace', 'deployment']).describe('`workspace`: set here; `deployment`: the list price.'),
  updatedAt: timestamp.nullable(),
});

function toWire(price: ModelPrice) {
  return { ...price, updatedAt: price.updatedAt?.toISOString() ?? null };
}

export function createPricingRouter(pricing: PricingRepository, document: ApiDocument): Router {
  const router = Router();
  const tags = ['Pricing'];

  defineRoute(
    router,
    document,
    { method: 'get', path: '/pricing', summary: 'List model prices', description: 'Every priced model, with the price this workspace pays.', tags, responses: { 200: { description: 'Prices by model.', schema: z.object({ data: z.array(priceSchema) }) } } },
    async ({ principal }) => ({ status: 200, body: { data: (await pricing.list(principal.workspaceId)).map(toWire) } }),
  );

  defineRoute(
    router,
    document,
    {
      method: 'put',
      path: '/pricing',
      summary: "Set a model's price for this workspace",
      description: 'In US dollars per million tokens. Applies to hops recorded from now on.',
      tags,
      access: 'admin',
      body: z.strictObject({ model: modelName, inputUsdPerMillion: usdPerMillion, outputUsdPerMillion: usdPerMillion }),
      responses: { 200: { description: 'The price now in force.', schema: z.object({ price: priceSchema }) } },
    },
    async ({ principal, body }) => ({ status: 200, body: { price: toWire(await pricing.set(principal.workspaceId, body)) } }),
  );

  defineRoute(
    router,
    document,
    {
      method: 'delete',
      path: '/pricing',
      summary: "Remove this workspace's price of a model",
      description: "The deployment's list price (if any) applies again.",
      tags,
      access: 'admin',
      query: z.object({ model: modelName }),
      responses: { 204: { description: 'Removed.' }, 404: { description: 'The workspace has no own price for the model.' } },
    },
    async ({ principal, query }) => {
      if (!(await pricing.remove(principal.workspaceId, query.model))) throw new ApiError(404, 'price_not_found', 'model: this workspace has no own price for it', 'model');
      return { status: 204 };
    },
  );

  return router;
}
