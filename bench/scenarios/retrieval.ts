/**
 * Scenario 9, retrieval: quality and latency of memory retrieval, full text only versus hybrid
 * (vector + full text, reciprocal rank fusion), on the labelled set of bench/retrieval/labelled-set.ts.
 *
 * - One workspace, one user. The labelled targets are stored as that user's memories, then
 *   generated distractor memories fill the workspace to 10,000, later to 100,000. Everything is
 *   embedded by the stack's scripted `/v1/embeddings` (deterministic, see src/scripted-llm/embeddings.ts)
 *   through the product's own `Embedder`, stored with the product's repository format.
 * - Quality at each size: for every question, the rank of its target among the first 5 results of
 *   `searchWorkspace` without a query vector (full text) and with one (hybrid): recall@5 and MRR@5,
 *   for lexical questions, paraphrases (no shared lexeme, checked by Postgres) and all. The document
 *   passages of the set are measured the same way with `searchDocumentChunks`.
 * - Latency at each size: the `retrieveMemory` activity as the turn runs it (query embedding over
 *   HTTP, workspace and session tiers), each question made unique so no embedding comes from the
 *   cache, and the hybrid SQL alone (the query vector computed beforehand).
 */
import { randomUUID } from 'node:crypto';
import { createMemoryActivities, toStoredVector } from '../../src/activities/memory';
import { createOpenAiClient } from '../../src/clients';
import { UsageRepository } from '../../src/db/usage-repository';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { chunkText } from '../../src/documents/chunking';
import { DocumentRepository, searchDocumentChunks } from '../../src/documents/document-repository';
import { deploymentEmbedder, Embedder } from '../../src/embeddings/embedder';
import { EmbeddingCache } from '../../src/embeddings/embedding-cache';
import { signatureOf } from '../../src/embeddings/signature';
import { createLogger } from '../../src/logger';
import { anyWordQuery, MemoryRepository, newMemoryId, type StoredVector } from '../../src/memory/memory-repository';
import { conversationKey } from '../../src/shared/ids';
import { CHUNK_TARGETS, DISTRACTOR_WORDS, MEMORY_TARGETS, type LabelledTarget } from '../retrieval/labelled-set';
import type { Row } from '../lib/report';
import type { ScenarioContext, ScenarioResult } from '../lib/scenario';
import { roundSummary, Samples } from '../lib/stats';

const SCENARIO = '9 retrieval';
const MINIMUM_SIMILARITY = 0.3;
const TOP = 5;
const INSERT_BATCH = 1000;

interface Quality {
  recallAt5: number;
  mrrAt5: number;
  queries: number;
}

/** A deterministic generator, so every run stores the same distractors. */
function generator(seed: number) {
  let state = seed;
  return (items: readonly string[]) => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return items[Math.floor((state / 4294967296) * items.length)]!;
  };
}

function distractor(pick: (items: readonly string[]) => string, index: number): string {
  const words = DISTRACTOR_WORDS;
  return `${pick(words.subjects)} ${pick(words.verbs)} the ${pick(words.adjectives)} ${pick(words.nouns)} ${pick(words.places)} ${pick(words.days)} (note ${index}).`;
}

function quality(ranks: ReadonlyArray<number | undefined>): Quality {
  const found = ranks.filter((rank): rank is number => rank !== undefined && rank <= TOP);
  return {
    recallAt5: found.length / Math.max(1, ranks.length),
    mrrAt5: found.reduce((total, rank) => total + 1 / rank, 0) / Math.max(1, ranks.length),
    queries: ranks.length,
  };
}

export async function runRetrieval(context: ScenarioContext): Promise<ScenarioResult> {
  const { pool, llmUrl } = context.stack;
  const sizes = context.config.retrieval.sizes;
  const latencyQueries = context.config.retrieval.latencyQueries;
  const logger = createLogger('warn', 'bench-retrieval');
  const workspaceId = `bench-retrieval-${randomUUID().slice(0, 8)}`;
  const userId = `${workspaceId}-user`;
  await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: 'Retrieval bench', userId, userName: 'Bench user', apiKey: generateApiKey() });
  const conversationId = conversationKey(workspaceId, 'bench-chat');
  await pool.query('INSERT INTO conversations (id, chat_id, workspace_id, user_id) VALUES ($1, $2, $3, $4)', [conversationId, 'bench-chat', workspaceId, userId]);

  // The distractors do not need a shared cache entry each; questions and targets use the product's cache.
  const bulkEmbedder = new Embedder({ client: createOpenAiClient(llmUrl, 'scripted-bench'), model: 'text-embedding-3-small' }, new EmbeddingCache(undefined), { batchSize: 256, timeoutMs: 60_000 });
  const embedder = new Embedder({ client: createOpenAiClient(llmUrl, 'scripted-bench'), model: 'text-embedding-3-small' }, new EmbeddingCache(pool, logger), { batchSize: 64, timeoutMs: 10_000 });
  const memories = new MemoryRepository(pool);

  // Honest labels: a paraphrase must share no full-text lexeme with its target.
  const allTargets = [...MEMORY_TARGETS, ...CHUNK_TARGETS];
  const overlaps: string[] = [];
  for (const target of allTargets) {
    const overlap = await pool.query("SELECT to_tsvector('english', $1) @@ to_tsquery('english', $2) AS overlap", [target.text, anyWordQuery(target.paraphrase)]);
    if (overlap.rows[0].overlap) overlaps.push(target.key);
  }
  if (overlaps.length > 0) throw new Error(`retrieval: paraphrases sharing words with their target: ${overlaps.join(', ')}`);

  context.progress(`retrieval: storing ${MEMORY_TARGETS.length} labelled memories and ${CHUNK_TARGETS.length} labelled passages`);
  const targetIds = new Map<string, string>();
  const targetVectors = await embedder.embed(MEMORY_TARGETS.map((target) => target.text));
  for (const [index, target] of MEMORY_TARGETS.entries()) {
    const memory = await memories.addMemory({ tier: 'workspace', workspaceId, userId, shared: false, content: target.text, vector: toStoredVector(embedder, targetVectors[index]!) });
    targetIds.set(target.key, memory.id);
  }
  const documents = new DocumentRepository(pool);
  const chunkIds = new Map<string, string>();
  for (const target of CHUNK_TARGETS) {
    const document = await documents.createDocument({ workspaceId, userId, title: target.key, mediaType: 'text/plain', source: Buffer.from(target.text) });
    await documents.replaceChunks(workspaceId, document.id, target.text, chunkText(target.text));
    const [vector] = await embedder.embed([target.text]);
    await documents.storeChunkEmbedding(document.id, 0, target.text, toStoredVector(embedder, vector!));
    await documents.finishIngestion(workspaceId, document.id, { status: 'ready' });
    chunkIds.set(target.key, `${document.id}#0`);
  }

  const questionVectors = new Map<string, StoredVector>();
  for (const target of allTargets) {
    for (const question of [target.lexical, target.paraphrase]) questionVectors.set(question, toStoredVector(embedder, await embedder.embedOne(question)));
  }

  const activities = createMemoryActivities({
    pool,
    logger,
    embedders: deploymentEmbedder(embedder),
    openai: createOpenAiClient(llmUrl, 'scripted-bench'),
    usage: new UsageRepository(pool),
    defaultModel: 'scripted-1',
    provider: 'scripted',
    minimumSimilarity: MINIMUM_SIMILARITY,
  });
  const pick = generator(7);
  let stored = MEMORY_TARGETS.length;
  const rows: Row[] = [];
  const details: Record<string, unknown> = { minimumSimilarity: MINIMUM_SIMILARITY, targets: MEMORY_TARGETS.length, passages: CHUNK_TARGETS.length, sizes: {} as Record<string, unknown> };

  for (const size of sizes) {
    const fillStarted = performance.now();
    while (stored < size) {
      const count = Math.min(INSERT_BATCH, size - stored);
      const texts = Array.from({ length: count }, (_, index) => distractor(pick, stored + index));
      const vectors = await bulkEmbedder.embed(texts);
      await pool.query(
        `INSERT INTO memories (id, workspace_id, tier, user_id, shared, content, embedding, signature, embedding_model)
         SELECT id, $1, 'workspace', $2, false, content, embedding::real[], signature::bit(256), $3
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS input (id, content, embedding, signature)`,
        [
          workspaceId,
          userId,
          bulkEmbedder.space,
          texts.map(() => newMemoryId()),
          texts,
          vectors.map((vector) => `{${vector.join(',')}}`),
          vectors.map((vector) => signatureOf(vector)),
        ],
      );
      stored += count;
      if (stored % 10_000 === 0) context.progress(`retrieval: ${stored} memories stored`);
    }
    await pool.query('VACUUM ANALYZE memories');
    context.progress(`retrieval: ${size} memories in one workspace (filled in ${((performance.now() - fillStarted) / 1000).toFixed(0)} s); measuring`);

    // Quality: full text only and hybrid, per kind of question.
    const ranks: Record<'text' | 'hybrid', Record<'lexical' | 'paraphrase', Array<number | undefined>>> = {
      text: { lexical: [], paraphrase: [] },
      hybrid: { lexical: [], paraphrase: [] },
    };
    const rankOf = (results: readonly string[], expected: string) => {
      const index = results.indexOf(expected);
      return index < 0 ? undefined : index + 1;
    };
    const scope = { workspaceId, userId };
    const searchOptions = { limit: TOP, candidates: 20, minimumSimilarity: MINIMUM_SIMILARITY };
    const measure = async (targets: readonly LabelledTarget[], search: (question: string, vector?: StoredVector) => Promise<string[]>, expectedOf: (target: LabelledTarget) => string, into: typeof ranks) => {
      for (const target of targets) {
        for (const kind of ['lexical', 'paraphrase'] as const) {
          const question = target[kind];
          into.text[kind].push(rankOf(await search(question), expectedOf(target)));
          into.hybrid[kind].push(rankOf(await search(question, questionVectors.get(question)), expectedOf(target)));
        }
      }
    };
    await measure(
      MEMORY_TARGETS,
      async (question, vector) => (await memories.searchWorkspace(scope, question, { ...searchOptions, ...(vector ? { vector } : {}) })).map((match) => match.id),
      (target) => targetIds.get(target.key)!,
      ranks,
    );
    const chunkRanks: typeof ranks = { text: { lexical: [], paraphrase: [] }, hybrid: { lexical: [], paraphrase: [] } };
    await measure(
      CHUNK_TARGETS,
      async (question, vector) => (await searchDocumentChunks(pool, workspaceId, question, { ...searchOptions, ...(vector ? { vector } : {}) })).map((match) => `${match.documentId}#${match.chunkIndex}`),
      (target) => chunkIds.get(target.key)!,
      chunkRanks,
    );

    // Latency: the activity as a turn runs it, and the hybrid SQL alone.
    const activityLatency = new Samples();
    const sqlLatency = new Samples();
    const questions = MEMORY_TARGETS.flatMap((target) => [target.lexical, target.paraphrase]);
    for (let index = 0; index < latencyQueries; index++) {
      const question = questions[index % questions.length]!;
      const unique = `${question} (${size}-${index})`;
      const started = performance.now();
      const retrieved = await activities.retrieveMemory({ turnId: `bench-${index}`, workspaceId, conversationId, userId, query: unique, widgetMode: false });
      activityLatency.add(performance.now() - started);
      if (retrieved.mode !== 'hybrid') throw new Error('retrieval: the embeddings endpoint failed during the latency run');
      const sqlStarted = performance.now();
      await memories.searchWorkspace(scope, question, { ...searchOptions, vector: questionVectors.get(question)! });
      sqlLatency.add(performance.now() - sqlStarted);
    }

    const label = size >= 1000 ? `${size / 1000}k` : String(size);
    const memoryQuality = {
      text: { lexical: quality(ranks.text.lexical), paraphrase: quality(ranks.text.paraphrase), all: quality([...ranks.text.lexical, ...ranks.text.paraphrase]) },
      hybrid: { lexical: quality(ranks.hybrid.lexical), paraphrase: quality(ranks.hybrid.paraphrase), all: quality([...ranks.hybrid.lexical, ...ranks.hybrid.paraphrase]) },
    };
    const passageQuality = {
      text: { lexical: quality(chunkRanks.text.lexical), paraphrase: quality(chunkRanks.text.paraphrase) },
      hybrid: { lexical: quality(chunkRanks.hybrid.lexical), paraphrase: quality(chunkRanks.hybrid.paraphrase) },
    };
    for (const kind of ['paraphrase', 'lexical', 'all'] as const) {
      rows.push(
        { scenario: SCENARIO, metric: `${label}: recall@5 ${kind} (${memoryQuality.hybrid[kind].queries} q), hybrid vs full text`, measured: memoryQuality.hybrid[kind].recallAt5, baseline: memoryQuality.text[kind].recallAt5 },
        { scenario: SCENARIO, metric: `${label}: MRR@5 ${kind}, hybrid vs full text`, measured: memoryQuality.hybrid[kind].mrrAt5, baseline: memoryQuality.text[kind].mrrAt5 },
      );
    }
    rows.push(
      { scenario: SCENARIO, metric: `${label}: passages recall@5 paraphrase (${passageQuality.hybrid.paraphrase.queries} q), hybrid vs full text`, measured: passageQuality.hybrid.paraphrase.recallAt5, baseline: passageQuality.text.paraphrase.recallAt5 },
      { scenario: SCENARIO, metric: `${label}: passages recall@5 lexical, hybrid vs full text`, measured: passageQuality.hybrid.lexical.recallAt5, baseline: passageQuality.text.lexical.recallAt5 },
    );
    const activitySummary = activityLatency.summary();
    const sqlSummary = sqlLatency.summary();
    rows.push(
      { scenario: SCENARIO, metric: `${label}: retrieveMemory p50 ms (embed + both tiers)`, measured: activitySummary?.p50 },
      { scenario: SCENARIO, metric: `${label}: retrieveMemory p99 ms (${activitySummary?.count ?? 0})`, measured: activitySummary?.p99 },
      { scenario: SCENARIO, metric: `${label}: hybrid search SQL p50 / p99 ms`, measured: sqlSummary ? `${sqlSummary.p50.toFixed(1)} / ${sqlSummary.p99.toFixed(1)}` : undefined },
    );
    (details.sizes as Record<string, unknown>)[label] = {
      memories: { ...memoryQuality, ranks },
      passages: { ...passageQuality, ranks: chunkRanks },
      retrieveMemoryMs: roundSummary(activitySummary),
      hybridSqlMs: roundSummary(sqlSummary),
    };
  }
  await pool.query('DELETE FROM workspaces WHERE id = $1', [workspaceId]);
  return { rows, details };
}
