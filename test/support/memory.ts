/**
 * Helpers for the memory and document tests: the memory activities built on real parts (Postgres, the
 * `openai` client against the scripted server's `/v1/embeddings` and `/v1/chat/completions`), API
 * calls with a key, another user of the same workspace, and waiting for background work.
 */
import { eventually } from './eventually';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createMemoryActivities } from '../../src/activities/memory';
import { createOpenAiClient } from '../../src/clients';
import { UsageRepository } from '../../src/db/usage-repository';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { deploymentEmbedder, Embedder } from '../../src/embeddings/embedder';
import { EmbeddingCache } from '../../src/embeddings/embedding-cache';
import type { Logger } from '../../src/logger';
import type { TestStack } from './stack';

export { eventually };

export const TEST_MINIMUM_SIMILARITY = 0.3;

/** Generous: a loaded CI machine must not turn a slow embedding into a full-text-only search. */
export const TEST_EMBEDDING_TIMEOUT_MS = 20_000;
export const TEST_STACK_ENVIRONMENT = { EMBEDDINGS_TIMEOUT_MS: String(TEST_EMBEDDING_TIMEOUT_MS) };

export function testEmbedder(pool: Pool, baseUrl: string): Embedder {
  return new Embedder({ client: createOpenAiClient(baseUrl, 'scripted-test-key'), model: 'text-embedding-3-small' }, new EmbeddingCache(pool), { batchSize: 16, timeoutMs: TEST_EMBEDDING_TIMEOUT_MS });
}

/** The memory activities as the worker builds them; `embeddingsUrl` may point at a dead endpoint. */
export function memoryActivities(stack: TestStack, logger: Logger, options: { pool?: Pool; embeddingsUrl?: string } = {}) {
  const pool = options.pool ?? stack.pool;
  return createMemoryActivities({
    pool,
    logger,
    embedders: deploymentEmbedder(testEmbedder(pool, options.embeddingsUrl ?? stack.llm.url)),
    openai: createOpenAiClient(stack.llm.url, 'scripted-test-key'),
    usage: new UsageRepository(pool),
    defaultModel: 'scripted-1',
    provider: 'scripted',
    minimumSimilarity: TEST_MINIMUM_SIMILARITY,
  });
}

/** Another user of the workspace, with their own API key. */
export async function addUser(stack: TestStack, workspaceId: string): Promise<{ userId: string; apiKey: string }> {
  const userId = `${workspaceId}-user-${randomUUID().slice(0, 6)}`;
  const apiKey = generateApiKey();
  await new WorkspaceRepository(stack.pool).seedWorkspace({ workspaceId, workspaceName: workspaceId, userId, userName: 'Second user', apiKey });
  return { userId, apiKey };
}

export function api(stack: TestStack, apiKey: string) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.apiUrl}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': typeof body === 'string' || Buffer.isBuffer(body) ? 'text/plain' : 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? new Uint8Array(body) : typeof body === 'string' ? body : JSON.stringify(body) }),
    });
}

/** Waits until every turn of the conversation has completed (memory extraction runs after the stream ends). */
export async function turnsCompleted(stack: TestStack, conversationId: string): Promise<void> {
  const turns = await stack.pool.query('SELECT DISTINCT turn_id FROM chat_events WHERE conversation_id = $1 AND turn_id IS NOT NULL', [conversationId]);
  for (const row of turns.rows) await stack.temporal.workflow.getHandle(row.turn_id as string).result();
}
