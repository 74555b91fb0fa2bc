/**
 * Citations: the document passages a knowledge tool returned, as the turn shows them to the client.
 * The stream carries one `source-cited` event per passage (an AI SDK `source-document` part in the
 * UI message stream, a `h:` source line in the v4 data stream), and the stored answer holds the same
 * `source-document` parts right after the tool call that found them (the answer builder,
 * ./answer.ts), so a reloaded conversation shows what the live stream showed.
 *
 * Pure: used by the activity that publishes tool results, the answer builder and the cached replay.
 */
import type { MessagePart } from './messages';

/** Tools whose document hits are cited (their output: an array of hits, see src/tools/search-knowledge.ts). */
export const CITING_TOOLS: ReadonlySet<string> = new Set(['search_knowledge', 'semantic_search']);

export interface CitedSource {
  /** `<documentId>#<chunkIndex>`: one source per passage. */
  sourceId: string;
  documentId: string;
  chunkIndex: number;
  /** The document's title and which passage: "Employee handbook, passage 3". */
  title: string;
  mediaType: string;
  filename?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The passages a citing tool's output names, in its order, each once. Anything else cites nothing. */
export function citedSources(toolName: string, output: unknown): CitedSource[] {
  if (!CITING_TOOLS.has(toolName) || !Array.isArray(output)) return [];
  const sources: CitedSource[] = [];
  const seen = new Set<string>();
  for (const hit of output) {
    if (!isRecord(hit) || hit.source !== 'document') continue;
    const { documentId, chunkIndex, title, mediaType, filename } = hit;
    if (typeof documentId !== 'string' || typeof chunkIndex !== 'number' || !Number.isInteger(chunkIndex)) continue;
    const sourceId = `${documentId}#${chunkIndex}`;
    if (seen.has(sourceId)) continue;
    seen.add(sourceId);
    sources.push({
      sourceId,
      documentId,
      chunkIndex,
      title: `${typeof title === 'string' && title ? title : documentId}, passage ${chunkIndex + 1}`,
      mediaType: typeof mediaType === 'string' ? mediaType : 'text/plain',
      ...(typeof filename === 'string' && filename ? { filename } : {}),
    });
  }
  return sources;
}

/** The AI SDK `source-document` part of a cited passage; the document and chunk ride in provider metadata. */
export function sourceDocumentPart(source: CitedSource): MessagePart {
  return {
    type: 'source-document',
    sourceId: source.sourceId,
    mediaType: source.mediaType,
    title: source.title,
    ...(source.filename ? { filename: source.filename } : {}),
    providerMetadata: { durableChat: { documentId: source.documentId, chunkIndex: source.chunkIndex } },
  };
}

/** The cited passage a stored `source-document` part stands for (undefined for any other part). */
export function citedSourceOfPart(part: MessagePart): CitedSource | undefined {
  const fields = part as Record<string, unknown>;
  const metadata = (fields.providerMetadata as { durableChat?: { documentId?: unknown; chunkIndex?: unknown } } | undefined)?.durableChat;
  if (part.type !== 'source-document' || typeof fields.sourceId !== 'string' || typeof metadata?.documentId !== 'string' || typeof metadata.chunkIndex !== 'number') return undefined;
  return {
    sourceId: fields.sourceId,
    documentId: metadata.documentId,
    chunkIndex: metadata.chunkIndex,
    title: typeof fields.title === 'string' ? fields.title : metadata.documentId,
    mediaType: typeof fields.mediaType === 'string' ? fields.mediaType : 'text/plain',
    ...(typeof fields.filename === 'string' ? { filename: fields.filename } : {}),
  };
}
