/**
 * The models an OpenAI-compatible endpoint lists (`GET /v1/models`), asked with the connection's own
 * client and remembered for a minute per connection version. The management API checks an agent's
 * model and fallbacks against it; an endpoint that does not offer the list (404, 405, 501), refuses
 * the key, or cannot be reached leaves the model unchecked, with a warning the API passes on.
 */
import OpenAI from 'openai';

export type ModelListing = { listed: true; models: string[] } | { listed: false; reason: string };

const DEFAULT_TTL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 5_000;
/** More than this many listed models and the rest are not read (a paging endpoint gone wrong). */
const MAX_MODELS = 10_000;

export class ModelCatalog {
  private readonly cache = new Map<string, { at: number; listing: Promise<ModelListing> }>();

  constructor(private readonly options: { ttlMs?: number; timeoutMs?: number } = {}) {}

  /** The listing of the endpoint behind `client`; `cacheKey` names the connection version. */
  modelsOf(cacheKey: string, client: OpenAI): Promise<ModelListing> {
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && now - cached.at < (this.options.ttlMs ?? DEFAULT_TTL_MS)) return cached.listing;
    const listing = this.fetch(client);
    this.cache.set(cacheKey, { at: now, listing });
    if (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value!);
    return listing;
  }

  private async fetch(client: OpenAI): Promise<ModelListing> {
    try {
      const models: string[] = [];
      for await (const model of client.models.list({ timeout: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxRetries: 0 })) {
        models.push(model.id);
        if (models.length >= MAX_MODELS) break;
      }
      return { listed: true, models };
    } catch (error) {
      if (error instanceof OpenAI.APIError && error.status !== undefined) {
        if ([404, 405, 501].includes(error.status)) return { listed: false, reason: 'the endpoint does not list its models' };
        return { listed: false, reason: `the endpoint answered ${error.status} when asked for its models` };
      }
      return { listed: false, reason: 'the endpoint could not be reached to list its models' };
    }
  }
}
