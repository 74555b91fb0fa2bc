/**
 * `search_knowledge`: Postgres full-text search over the workspace's documents and memories (the
 * workspace tier, and the session tier of this conversation only). Read-only; ranks with `ts_rank`
 * and answers with short snippets around the matched words, which is what a model needs to decide
 * whether to read further.
 *
 * `websearch_to_tsquery` requires every word to match. Models phrase queries as questions, so when
 * that finds nothing the search is repeated with the words joined by `or`, where ranking puts the
 * texts that match most words first.
 */
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './tool-definition';

export const SEARCH_RESULT_LIMIT = 5;

export interface KnowledgeHit {
  source: 'document' | 'memory';
  id: string;
  title?: string;
  snippet: string;
}

// Ranks first and writes snippets only for the top hits: ts_headline re-parses the text, so it runs
// on five rows, not on every match.
const SEARCH_SQL = `
  WITH query AS (SELECT websearch_to_tsquery('english', $2) AS tsquery),
  hits AS (
    SELECT 'document' AS source, d.id, d.title, d.body AS text, ts_rank(d.search, query.tsquery) AS rank, d.created_at
    FROM documents d, query
    WHERE d.workspace_id = $1 AND d.search @@ query.tsquery
    UNION ALL
    SELECT 'memory' AS source, m.id, NULL AS title, m.content AS text, ts_rank(m.search, query.tsquery) AS rank, m.created_at
    FROM memories m, query
    WHERE m.workspace_id = $1 AND (m.tier = 'workspace' OR m.conversation_id = $3) AND m.search @@ query.tsquery
    ORDER BY rank DESC, created_at DESC, id
    LIMIT $4
  )
  SELECT hits.source, hits.id, hits.title,
         ts_headline('english', hits.text, query.tsquery, 'StartSel="**", StopSel="**", MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "') AS snippet
  FROM hits, query
  ORDER BY hits.rank DESC, hits.created_at DESC, hits.id`;

/** The query's words joined by `or`, without quotes, exclusions and the query's own `or`s. */
export function broadenQuery(query: string): string {
  return query
    .split(/\s+/u)
    .map((word) => word.replace(/["]/gu, ''))
    .filter((word) => word !== '' && !word.startsWith('-') && word.toLowerCase() !== 'or')
    .join(' or ');
}

export const searchKnowledge = defineTool({
  name: 'search_knowledge',
  description:
    `Search this workspace's documents and memories by words (web-search syntax: "exact phrase", -excluded, or). ` +
    `Returns the ${SEARCH_RESULT_LIMIT} best matches with a snippet each.`,
  schema: z.object({ query: z.string().trim().min(1).max(500).describe('What to look for, in plain words') }),
  async run(parsedArguments, context): Promise<KnowledgeHit[]> {
    const search = (query: string) => context.database.query(SEARCH_SQL, [context.workspaceId, query, context.conversationId, SEARCH_RESULT_LIMIT]);
    let result = await search(parsedArguments.query);
    const broadened = broadenQuery(parsedArguments.query);
    if (result.rows.length === 0 && broadened !== parsedArguments.query) result = await search(broadened);
    return result.rows.map((row) => ({
      source: row.source as KnowledgeHit['source'],
      id: row.id as string,
      ...(row.title ? { title: row.title as string } : {}),
      snippet: row.snippet as string,
    }));
  },
});

export const SEARCH_TOOLS: readonly ToolDefinition[] = [searchKnowledge];
