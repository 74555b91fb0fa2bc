/**
 * The knowledge tools, read-only:
 * - `search_knowledge`: hybrid search (meaning and words, fused by reciprocal rank) over the
 *   workspace's uploaded documents (by chunk) and the memories the conversation's user may recall
 *   (their own and shared workspace memories, this conversation's session memories since its last
 *   fresh start);
 * - `semantic_search`: the passages of the workspace's documents closest in meaning to the query,
 *   whatever their wording (vector similarity only).
 *
 * Document hits cite their document and chunk (`documentId`, `chunkIndex`, title, media type): the
 * turn turns them into AI SDK `source-document` parts (src/shared/sources.ts). When the query cannot
 * be embedded (endpoint down), both fall back to full-text search rather than fail.
 */
import { z } from 'zod';
import { searchDocumentChunks, type ChunkMatch } from '../documents/document-repository';
import { EmbeddingsUnavailableError } from '../embeddings/embedder';
import { signatureOf } from '../embeddings/signature';
import { MemoryRepository, type StoredVector } from '../memory/memory-repository';
import { defineTool, type ToolContext, type ToolDefinition } from './tool-definition';

export const SEARCH_RESULT_LIMIT = 5;
/** Characters of a hit shown to the model. */
export const SNIPPET_CHARACTERS = 400;
const CANDIDATES_PER_LIST = 20;

export type KnowledgeHit =
  | {
      source: 'document';
      /** `<documentId>#<chunkIndex>` */
      id: string;
      documentId: string;
      chunkIndex: number;
      title: string;
      filename?: string;
      mediaType: string;
      snippet: string;
      score: number;
    }
  | { source: 'memory'; id: string; tier: 'workspace' | 'session'; snippet: string; score: number };

/** About `length` characters of `text` around the first word of the query it contains, cut at spaces. */
export function snippetAround(text: string, query: string, length = SNIPPET_CHARACTERS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= length) return flat;
  const lower = flat.toLowerCase();
  const words = (query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []).sort((left, right) => right.length - left.length);
  const found = words.map((word) => lower.indexOf(word)).filter((index) => index >= 0);
  const center = found.length > 0 ? Math.min(...found) : 0;
  let start = Math.max(0, center - Math.floor(length / 3));
  let end = Math.min(flat.length, start + length);
  start = Math.max(0, end - length);
  if (start > 0) start = flat.indexOf(' ', start) + 1 || start;
  if (end < flat.length) end = flat.lastIndexOf(' ', end) > start ? flat.lastIndexOf(' ', end) : end;
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

function documentHit(match: ChunkMatch, query: string): KnowledgeHit {
  return {
    source: 'document',
    id: `${match.documentId}#${match.chunkIndex}`,
    documentId: match.documentId,
    chunkIndex: match.chunkIndex,
    title: match.title,
    ...(match.filename ? { filename: match.filename } : {}),
    mediaType: match.mediaType,
    snippet: snippetAround(match.content, query),
    score: Math.round(match.score * 1e6) / 1e6,
  };
}

/** The query's vector, or undefined when the tool has no embedder or the endpoint fails (full text then). */
async function queryVector(context: ToolContext, query: string): Promise<StoredVector | undefined> {
  if (!context.knowledge) return undefined;
  try {
    const embedder = await context.knowledge.embedders.embedderFor(context.workspaceId);
    const embedding = await embedder.embedOne(query);
    return { space: embedder.space, embedding, signature: signatureOf(embedding) };
  } catch (error) {
    if (error instanceof EmbeddingsUnavailableError) return undefined;
    throw error;
  }
}

const querySchema = z.object({ query: z.string().trim().min(1).max(500).describe('What to look for, in plain words') });

export const searchKnowledge = defineTool({
  name: 'search_knowledge',
  description:
    `Search this workspace's documents and the memories about the user by meaning and by words. ` +
    `Returns the ${SEARCH_RESULT_LIMIT} best matches with a snippet each; document matches name their document and chunk.`,
  schema: querySchema,
  async run({ query }, context): Promise<KnowledgeHit[]> {
    const vector = await queryVector(context, query);
    const options = { limit: SEARCH_RESULT_LIMIT, candidates: CANDIDATES_PER_LIST, minimumSimilarity: context.knowledge?.minimumSimilarity ?? 0.3, ...(vector ? { vector } : {}) };
    const owner = await context.database.query('SELECT user_id FROM conversations WHERE id = $1 AND workspace_id = $2', [context.conversationId, context.workspaceId]);
    const userId = owner.rows[0]?.user_id as string | undefined;
    const memories = new MemoryRepository(context.database);
    // One connection (the tool's transaction): one query at a time.
    const chunks = await searchDocumentChunks(context.database, context.workspaceId, query, options);
    const own = userId === undefined ? [] : await memories.searchWorkspace({ workspaceId: context.workspaceId, userId }, query, options);
    const session = await memories.searchSession({ workspaceId: context.workspaceId, conversationId: context.conversationId }, query, options);
    const hits: KnowledgeHit[] = [
      ...chunks.map((match) => documentHit(match, query)),
      ...[...own, ...session].map((match): KnowledgeHit => ({ source: 'memory', id: match.id, tier: match.tier, snippet: snippetAround(match.content, query), score: Math.round(match.score * 1e6) / 1e6 })),
    ];
    // Scores of the three searches are reciprocal-rank scores on the same scale: the best of all three lists win.
    return hits.sort((left, right) => right.score - left.score).slice(0, SEARCH_RESULT_LIMIT);
  },
});

export const semanticSearch = defineTool({
  name: 'semantic_search',
  description:
    `Find the passages of this workspace's documents closest in meaning to the query, even when they use other words. ` +
    `Returns up to ${SEARCH_RESULT_LIMIT} passages, each naming its document and chunk.`,
  schema: querySchema,
  async run({ query }, context): Promise<KnowledgeHit[]> {
    const vector = await queryVector(context, query);
    const options = { limit: SEARCH_RESULT_LIMIT, candidates: CANDIDATES_PER_LIST, minimumSimilarity: context.knowledge?.minimumSimilarity ?? 0.3 };
    // Without a vector (endpoint down) the words are all there is.
    const chunks = vector
      ? await searchDocumentChunks(context.database, context.workspaceId, query, { ...options, vector, vectorOnly: true })
      : await searchDocumentChunks(context.database, context.workspaceId, query, options);
    return chunks.map((match) => documentHit(match, query));
  },
});

export const SEARCH_TOOLS: readonly ToolDefinition[] = [searchKnowledge, semanticSearch];
