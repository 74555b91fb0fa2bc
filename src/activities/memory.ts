/**
 * Memory activities: recall what the user and the conversation established before the model
 * answers, learn from the exchange once the turn is done, and keep the vectors of memories current.
 *
 * Three tiers, as in the seed service, searched by meaning and by words together (hybrid):
 * - workspace: durable facts and preferences, across every conversation of the workspace, scoped to
 *   the user unless a memory is shared (skipped in widget mode: a widget serves many end users);
 * - session: facts about this conversation, learnt since its last fresh start;
 * - immediate: the last messages of the conversation, exact. The LLM activity sends them as chat
 *   messages already (the context guard always keeps the last ones verbatim), so this activity does
 *   not fetch that tier, and does not list it as skipped: `skippedTiers` names only tiers that were
 *   wanted and not searched.
 *
 * The embeddings endpoint is optional at run time: when it fails, retrieval goes on with full-text
 * results (and says so in the log), and memories stored meanwhile get their vectors from the
 * backfill (`embedPendingMemories`) later.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { LlmClients } from '../llm/connection-clients';
import type { LlmConnectionReference } from '../shared/turn';
import type { Pool } from 'pg';
import type { UsageRepository } from '../db/usage-repository';
import { EmbeddingsUnavailableError, type Embedder, type EmbedderProvider } from '../embeddings/embedder';
import { signatureOf } from '../embeddings/signature';
import { classifyLlmError } from '../llm/classify-error';
import type { Logger } from '../logger';
import { ExtractionStore, type AppliedOperation } from '../memory/extraction-store';
import { MEMORY_PROMPT_TEXT_LIMIT } from '../memory/memory-prompt';
import { extractionRequest, MEMORY_EXTRACTION_PROMPT, parseExtraction, type OfferedMemory } from '../memory/memory-extraction';
import { MemoryRepository, type MemoryMatch, type MemoryTier, type StoredVector } from '../memory/memory-repository';
import { memorySkipReason } from '../shared/turn-planning';

export interface MemoryActivityDependencies {
  pool: Pool;
  logger: Logger;
  embedders: EmbedderProvider;
  /** The deployment's LLM client: extraction's model when no connection resolver is given. */
  openai: OpenAI;
  /** The agent's own LLM connection (issue 11): extraction runs on the connection the turn ran on. */
  clients?: Pick<LlmClients, 'clientFor'>;
  usage: UsageRepository;
  /** The deployment's model, when a turn does not say which model extracts. */
  defaultModel: string;
  /** The deployment's provider name, recorded with the extraction's usage. */
  provider: string;
  /** Vector matches below this cosine similarity are not matches. */
  minimumSimilarity: number;
}

export interface RetrieveMemoryInput {
  turnId: string;
  workspaceId: string;
  conversationId: string;
  /** Whose memories: absent in turns recorded before memories had owners (then the conversation's owner). */
  userId?: string;
  query: string;
  /** An embedded widget may serve many end users: the workspace tier is not searched. */
  widgetMode: boolean;
  /** Matches per tier; 4 when omitted, at most 20. */
  limitPerTier?: number;
}

export interface RetrievedMemory {
  id: string;
  tier: MemoryTier;
  text: string;
}

export interface MemoryRetrieval {
  /** Workspace matches first, then session matches, each tier best first. */
  memories: RetrievedMemory[];
  /** Tiers that were not searched: `workspace` in widget mode, both when retrieval failed. */
  skippedTiers: string[];
  /** `full-text` when the query could not be embedded. */
  mode?: 'hybrid' | 'full-text';
}

export interface RememberExchangeInput {
  turnId: string;
  workspaceId: string;
  conversationId: string;
  userText: string;
  assistantText: string;
  /** The turn's user (else the conversation's owner). */
  userId?: string;
  /** The agent's model, which extracts (else the deployment's default model). */
  model?: string;
  /** The connection the turn ran on (absent: the deployment's endpoint). */
  connection?: LlmConnectionReference;
  agentId?: string;
  /** A widget's key serves many end users: nothing is learnt about "the user", only about the conversation. */
  widgetMode?: boolean;
}

export interface ExtractionResult {
  /** Why nothing was extracted, when nothing was. */
  skipped?: 'trivial' | 'already-extracted';
  added: number;
  updated: number;
  deleted: number;
}

const DEFAULT_LIMIT_PER_TIER = 4;
const MAX_LIMIT_PER_TIER = 20;
/** Length of each ranked list (vector, full text) before fusion. */
const CANDIDATES_PER_LIST = 20;
/** Related memories offered to the extracting model per tier. */
const OFFERED_PER_TIER = 10;
/** The usage row of the extraction call (hop −1 is the context guard's). */
export const MEMORY_EXTRACTION_USAGE_HOP = -2;
const EMBEDDING_BACKFILL_BATCH = 128;

function limitOf(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested)) return DEFAULT_LIMIT_PER_TIER;
  return Math.min(MAX_LIMIT_PER_TIER, Math.max(1, Math.floor(requested)));
}

/** Memory text returned to the workflow: cut to what the prompt shows, so history stays small. */
function toRetrieved(match: MemoryMatch): RetrievedMemory {
  const characters = [...match.content];
  const text = characters.length > MEMORY_PROMPT_TEXT_LIMIT ? characters.slice(0, MEMORY_PROMPT_TEXT_LIMIT).join('') : match.content;
  return { id: match.id, tier: match.tier, text };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export function toStoredVector(embedder: Pick<Embedder, 'space'>, embedding: number[]): StoredVector {
  return { space: embedder.space, embedding, signature: signatureOf(embedding) };
}

export function createMemoryActivities(dependencies: MemoryActivityDependencies) {
  const { logger, pool } = dependencies;
  const memories = new MemoryRepository(pool);
  const extractions = new ExtractionStore(pool);

  /** The query's vector, or undefined (logged) when the embeddings endpoint cannot give one. */
  async function queryVector(workspaceId: string, text: string, context: Record<string, unknown>): Promise<StoredVector | undefined> {
    try {
      const embedder = await dependencies.embedders.embedderFor(workspaceId);
      return toStoredVector(embedder, await embedder.embedOne(text));
    } catch (error) {
      if (!(error instanceof EmbeddingsUnavailableError)) throw error;
      logger.warn({ ...context, error: error.message }, 'embeddings unavailable: memory search uses full text only');
      return undefined;
    }
  }

  async function ownerOf(input: { workspaceId: string; conversationId: string; userId?: string }): Promise<string | undefined> {
    return input.userId ?? (await memories.conversationOwner(input.workspaceId, input.conversationId));
  }

  /**
   * Searches the workspace and session tiers for the user's message, by meaning and by words. Read
   * only, so a retry is harmless. A failed search never fails the turn: it is logged with the turn id
   * and the turn goes on without memory (`memories: []`, both tiers reported skipped); a failed
   * embedding makes it a full-text search, also logged.
   */
  async function retrieveMemory(input: RetrieveMemoryInput): Promise<MemoryRetrieval> {
    const limit = limitOf(input.limitPerTier);
    const skippedTiers: MemoryTier[] = input.widgetMode ? ['workspace'] : [];
    try {
      // The owner lookup and the query's embedding (an HTTP call) side by side: both are on the path to the first token.
      const [userId, vector] = await Promise.all([input.widgetMode ? undefined : ownerOf(input), queryVector(input.workspaceId, input.query, { turnId: input.turnId })]);
      const options = { limit, candidates: CANDIDATES_PER_LIST, minimumSimilarity: dependencies.minimumSimilarity, ...(vector ? { vector } : {}) };
      const [workspaceMatches, sessionMatches] = await Promise.all([
        userId === undefined ? Promise.resolve([]) : memories.searchWorkspace({ workspaceId: input.workspaceId, userId }, input.query, options),
        memories.searchSession({ workspaceId: input.workspaceId, conversationId: input.conversationId }, input.query, options),
      ]);
      const found = [...workspaceMatches, ...sessionMatches].map(toRetrieved);
      const mode = vector ? 'hybrid' : 'full-text';
      logger.info({ turnId: input.turnId, workspace: workspaceMatches.length, session: sessionMatches.length, skippedTiers, mode }, 'memory retrieved');
      return { memories: found, skippedTiers, mode };
    } catch (error) {
      logger.warn({ turnId: input.turnId, error: errorText(error) }, 'memory retrieval failed; the turn goes on without memory');
      return { memories: [], skippedTiers: ['workspace', 'session'] };
    }
  }

  /**
   * Learns from a finished turn (the Mem0 pattern): the agent's model reads the exchange and the
   * related memories the user already has, and answers which facts to add, update or remove; those
   * operations are applied here. The raw exchange itself is never stored.
   *
   * Idempotent per turn: the applied operations are recorded under the turn id in the same
   * transaction, so a retry, a replay or a concurrent duplicate changes nothing more, and a retry
   * after that commit does not even call the model again. Model errors are classified like the
   * streaming hop's (retryable or not); an unreadable answer is logged and counts as "nothing to
   * learn". A conversation outside the workspace is a non-retryable `ConversationNotFound`.
   */
  async function extractMemories(input: RememberExchangeInput): Promise<ExtractionResult> {
    const none = { added: 0, updated: 0, deleted: 0 };
    const skip = memorySkipReason(input.userText, { widgetMode: false });
    if (!input.userText.trim() || (skip && skip !== 'too-short')) {
      logger.debug({ turnId: input.turnId, reason: skip ?? 'empty' }, 'nothing to learn from this exchange');
      return { skipped: 'trivial', ...none };
    }
    const earlier = await extractions.appliedFor(input.turnId);
    if (earlier) return { skipped: 'already-extracted', ...summarise(earlier) };
    const owner = await memories.conversationOwner(input.workspaceId, input.conversationId);
    if (owner === undefined) throw ApplicationFailure.nonRetryable(`Conversation ${input.conversationId} does not exist in this workspace`, 'ConversationNotFound');
    const userId = input.userId ?? owner;

    const embedder = await dependencies.embedders.embedderFor(input.workspaceId);
    const vector = await queryVector(input.workspaceId, input.userText, { turnId: input.turnId });
    const options = { limit: OFFERED_PER_TIER, candidates: CANDIDATES_PER_LIST, minimumSimilarity: dependencies.minimumSimilarity, ...(vector ? { vector } : {}) };
    const scope = { workspaceId: input.workspaceId, userId };
    const [related, recent, session] = await Promise.all([
      input.widgetMode ? Promise.resolve([]) : memories.searchWorkspace(scope, input.userText, options),
      // The latest facts too: "I moved to Porto" must meet "The user lives in Lisbon" even when
      // the two share little wording.
      input.widgetMode ? Promise.resolve([]) : memories.listMemories(scope, { tier: 'workspace' }, { limit: OFFERED_PER_TIER, offset: 0 }),
      memories.searchSession({ workspaceId: input.workspaceId, conversationId: input.conversationId }, input.userText, options),
    ]);
    // Only the user's own memories: shared ones written by someone else inform retrieval, not this user's edits.
    const own = new Map<string, string>();
    for (const memory of related) own.set(memory.id, memory.content);
    for (const memory of recent) if (memory.userId === userId) own.set(memory.id, memory.content);
    const ownIds = new Set((await pool.query('SELECT id FROM memories WHERE id = ANY($1::text[]) AND user_id = $2', [[...own.keys()], userId])).rows.map((row) => row.id as string));
    const offered: OfferedMemory[] = [
      ...[...own].filter(([id]) => ownIds.has(id)).map(([id, text]) => ({ id, scope: 'user' as const, text })),
      ...session.map((memory) => ({ id: memory.id, scope: 'session' as const, text: memory.content })),
    ];

    const model = input.model ?? dependencies.defaultModel;
    const started = performance.now();
    let completion;
    try {
      const client = dependencies.clients ? await dependencies.clients.clientFor(input.workspaceId, input.connection) : dependencies.openai;
      completion = await client.chat.completions.create(
        {
          model,
          temperature: 0,
          response_format: { type: 'json_object' },
          messages: [
            { role: 'system', content: MEMORY_EXTRACTION_PROMPT },
            { role: 'user', content: extractionRequest(offered, input.userText, input.assistantText) },
          ],
        },
        (() => {
          try {
            return { signal: Context.current().cancellationSignal };
          } catch {
            return {};
          }
        })(),
      );
    } catch (error) {
      throw classifyLlmError(error);
    }
    const { operations, rejected } = parseExtraction(completion.choices[0]?.message.content ?? '', offered);
    if (rejected.length > 0) logger.warn({ turnId: input.turnId, rejected }, 'memory extraction: parts of the model answer were ignored');
    if (input.widgetMode) for (const operation of operations) if (operation.op === 'add') operation.scope = 'session';

    const texts = [...new Set(operations.flatMap((operation) => (operation.op === 'delete' ? [] : [operation.text])))];
    const vectors = new Map<string, StoredVector>();
    if (texts.length > 0) {
      try {
        const embeddings = await embedder.embed(texts);
        texts.forEach((text, index) => vectors.set(text, toStoredVector(embedder, embeddings[index]!)));
      } catch (error) {
        if (!(error instanceof EmbeddingsUnavailableError)) throw error;
        logger.warn({ turnId: input.turnId, error: error.message }, 'embeddings unavailable: new memories are stored without vectors until the backfill');
      }
    }
    const sourceSeq = await pool.query('SELECT COALESCE(max(seq), 0) AS seq FROM chat_events WHERE conversation_id = $1 AND turn_id = $2', [input.conversationId, input.turnId]);
    const { applied, created } = await extractions.apply({
      turnId: input.turnId,
      workspaceId: input.workspaceId,
      userId,
      conversationId: input.conversationId,
      sourceSeq: Number(sourceSeq.rows[0].seq),
      operations,
      vectors,
    });
    if (created) {
      await dependencies.usage.recordAttempt({
        turnId: input.turnId,
        hop: MEMORY_EXTRACTION_USAGE_HOP,
        attempt: currentAttempt(),
        conversationId: input.conversationId,
        workspaceId: input.workspaceId,
        ...(input.agentId ? { agentId: input.agentId } : {}),
        model,
        provider: input.connection?.provider ?? dependencies.provider,
        byok: input.connection?.byok ?? false,
        inputTokens: completion.usage?.prompt_tokens ?? 0,
        outputTokens: completion.usage?.completion_tokens ?? 0,
        latencyMs: Math.round(performance.now() - started),
        estimated: completion.usage === undefined,
        outcome: 'completed',
      });
    }
    const result = summarise(applied);
    logger.info({ turnId: input.turnId, ...result, offered: offered.length, created }, 'memories extracted');
    return created ? result : { skipped: 'already-extracted', ...result };
  }

  /**
   * The activity the turn workflow has always called after finalize. It no longer stores the raw
   * exchange: it extracts memories (see `extractMemories`), with the same input and idempotency.
   */
  async function rememberExchange(input: RememberExchangeInput): Promise<void> {
    await extractMemories(input);
  }

  /**
   * Embeds a batch of the workspace's memories that have no vector in the current embedding space
   * (added through the API, edited, stored while the endpoint was down, or from an older model).
   * Idempotent: a vector is only stored for the content it was computed from. Embedding failures
   * throw, so Temporal retries the batch with backoff.
   */
  async function embedPendingMemories(input: { workspaceId: string }): Promise<{ embedded: number; remaining: boolean }> {
    const embedder = await dependencies.embedders.embedderFor(input.workspaceId);
    const pending = await memories.pendingEmbeddings(input.workspaceId, embedder.space, EMBEDDING_BACKFILL_BATCH);
    if (pending.length === 0) return { embedded: 0, remaining: false };
    const embeddings = await embedder.embed(pending.map((memory) => memory.content));
    let embedded = 0;
    for (const [index, memory] of pending.entries()) {
      if (await memories.storeEmbedding(memory.id, memory.content, toStoredVector(embedder, embeddings[index]!))) embedded++;
    }
    logger.info({ workspaceId: input.workspaceId, embedded }, 'memory vectors stored');
    return { embedded, remaining: pending.length === EMBEDDING_BACKFILL_BATCH };
  }

  return { retrieveMemory, rememberExchange, extractMemories, embedPendingMemories };
}

function summarise(applied: readonly AppliedOperation[]): { added: number; updated: number; deleted: number } {
  return {
    added: applied.filter((operation) => operation.op === 'add').length,
    updated: applied.filter((operation) => operation.op === 'update').length,
    deleted: applied.filter((operation) => operation.op === 'delete').length,
  };
}
