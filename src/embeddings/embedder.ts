/**
 * Text → unit vectors through the official `openai` client, against any OpenAI-compatible
 * `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, llama.cpp, the project's scripted server).
 *
 * - Batched: the texts of one call go out in requests of at most `batchSize` inputs.
 * - Cached by content hash (./embedding-cache.ts): only texts never embedded in this space are sent.
 * - Normalised to unit length, so cosine is a dot product and the Postgres side can compare with
 *   Euclidean distances.
 * - One failure type: anything that goes wrong talking to the endpoint is an
 *   `EmbeddingsUnavailableError`, which callers turn into "full text only" instead of an error.
 *
 * An embedder is built from a connection (client + model + optional dimensions). Today the
 * deployment has one (EMBEDDINGS_* settings); per-workspace connections (the agents issue) plug in
 * through `EmbedderProvider` without changing the callers.
 */
import type OpenAI from 'openai';
import { contentHash, type EmbeddingCache } from './embedding-cache';

export interface EmbeddingConnection {
  client: OpenAI;
  model: string;
  /** Sent as `dimensions` when set (text-embedding-3 models accept it); otherwise the model's own size. */
  dimensions?: number;
}

export interface EmbedderOptions {
  /** Most inputs per request. */
  batchSize: number;
  /** Bound of each request, so a hung endpoint costs a turn seconds, not minutes. */
  timeoutMs: number;
}

/** The embeddings endpoint could not give vectors (down, slow, refused, or answered nonsense). */
export class EmbeddingsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddingsUnavailableError';
  }
}

/** The label stored with every vector: vectors of different spaces are never compared. */
export function embeddingSpaceOf(connection: Pick<EmbeddingConnection, 'model' | 'dimensions'>): string {
  return connection.dimensions ? `${connection.model}:${connection.dimensions}` : connection.model;
}

export function normalise(vector: readonly number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || norm === 0) throw new EmbeddingsUnavailableError('the embeddings endpoint returned a zero or invalid vector');
  return vector.map((value) => value / norm);
}

export class Embedder {
  readonly space: string;

  constructor(
    private readonly connection: EmbeddingConnection,
    private readonly cache: EmbeddingCache,
    private readonly options: EmbedderOptions,
  ) {
    this.space = embeddingSpaceOf(connection);
  }

  /**
   * One unit vector per text, in order. Throws `EmbeddingsUnavailableError` only. New vectors are
   * written to the cache before it returns (bulk callers get the database's pace), or, with
   * `cacheWrite: 'background'`, while the caller goes on: the cache write never fails the call and
   * this process remembers the vectors at once either way.
   */
  async embed(texts: readonly string[], signal?: AbortSignal, options: { cacheWrite?: 'await' | 'background' } = {}): Promise<number[][]> {
    const inputs = texts.map((text) => (text.trim() === '' ? '(empty)' : text));
    const hashes = inputs.map(contentHash);
    const known = await this.cache.get(this.space, [...new Set(hashes)]);
    const missing = new Map<string, string>();
    inputs.forEach((text, index) => {
      if (!known.has(hashes[index]!)) missing.set(hashes[index]!, text);
    });
    const pending = [...missing.entries()];
    for (let start = 0; start < pending.length; start += this.options.batchSize) {
      const batch = pending.slice(start, start + this.options.batchSize);
      const vectors = await this.request(batch.map(([, text]) => text), signal);
      const entries = batch.map(([hash], index) => ({ hash, embedding: vectors[index]! }));
      for (const entry of entries) known.set(entry.hash, entry.embedding);
      const written = this.cache.put(this.space, entries);
      if (options.cacheWrite !== 'background') await written;
    }
    return hashes.map((hash) => known.get(hash)!);
  }

  /** A query's vector: on the path to an answer, so the cache write does not hold it up. */
  async embedOne(text: string, signal?: AbortSignal): Promise<number[]> {
    return (await this.embed([text], signal, { cacheWrite: 'background' }))[0]!;
  }

  private async request(inputs: string[], signal?: AbortSignal): Promise<number[][]> {
    let response;
    try {
      response = await this.connection.client.embeddings.create(
        {
          model: this.connection.model,
          input: inputs,
          ...(this.connection.dimensions ? { dimensions: this.connection.dimensions } : {}),
        },
        { timeout: this.options.timeoutMs, maxRetries: 0, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      throw new EmbeddingsUnavailableError(`embeddings request failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const vectors: number[][] = new Array(inputs.length);
    for (const item of response.data ?? []) {
      if (Number.isInteger(item.index) && item.index >= 0 && item.index < inputs.length && Array.isArray(item.embedding)) {
        vectors[item.index] = normalise(item.embedding);
      }
    }
    for (let index = 0; index < inputs.length; index++) {
      if (!vectors[index]) throw new EmbeddingsUnavailableError(`the embeddings endpoint returned no vector for input ${index} of ${inputs.length}`);
    }
    const size = vectors[0]!.length;
    if (vectors.some((vector) => vector.length !== size)) throw new EmbeddingsUnavailableError('the embeddings endpoint returned vectors of different sizes');
    return vectors;
  }
}

/**
 * Which embedder serves a workspace. The deployment's today; when workspaces get their own LLM
 * connections (the agents issue), `embedderFor` resolves the workspace's connection here and every
 * caller follows.
 */
export interface EmbedderProvider {
  embedderFor(workspaceId: string): Promise<Embedder>;
}

export function deploymentEmbedder(embedder: Embedder): EmbedderProvider {
  return { embedderFor: async () => embedder };
}
