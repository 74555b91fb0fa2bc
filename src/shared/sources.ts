/**
 * Citations: the document passages a knowledge tool returned, as the turn shows them to the client.
 * The stream carries one `source-cited` event per passage (an AI SDK `source-document` part in the
 * UI message stream, a `h:` source line in the v4 data stream), and the stored answer holds the same
 * `source-document` parts right after the tool call that found them, so a reloaded conversation
 * shows what the live stream showed.
 *
 * Pure: used by the activity that publishes tool results and by the one that stores the answer.
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

/**
 * The answer's parts with a `source-document` part after each citing tool call for every passage it
 * returned, exactly where the live stream put them (so a passage found by two calls is cited twice,
 * as the stream did).
 */
export function withSourceParts(parts: readonly MessagePart[]): MessagePart[] {
  return parts.flatMap((part) => {
    const fields = part as Record<string, unknown>;
    if (typeof part.type !== 'string' || !part.type.startsWith('tool-') || fields.state !== 'output-available') return [part];
    return [part, ...citedSources(part.type.slice('tool-'.length), fields.output).map(sourceDocumentPart)];
  });
}
