/**
 * Citations of document passages: read from a knowledge tool's output, streamed as `source-cited`
 * (an AI SDK `source-document` part, a v4 `h:` source line proven with the real v4 parser), and kept
 * in the stored answer where the stream put them.
 */
import { citationPath, DataStreamV4Encoder } from '../../src/api/sse/data-stream-v4';
import { UiMessageStreamEncoder } from '../../src/api/sse/ui-message-stream';
import { AnswerBuilder, storedAnswerEvents } from '../../src/shared/answer';
import { citedSources } from '../../src/shared/sources';
import type { StreamEvent } from '../../src/shared/stream-events';
import { ensureV4Client, parseV4 } from '../support/v4-client';

const hits = [
  { source: 'document', id: 'doc_a#2', documentId: 'doc_a', chunkIndex: 2, title: 'Handbook', filename: 'handbook.pdf', mediaType: 'application/pdf', snippet: '…', score: 0.03 },
  { source: 'memory', id: 'mem_1', tier: 'workspace', snippet: 'The user prefers tea.', score: 0.02 },
  { source: 'document', id: 'doc_b#0', documentId: 'doc_b', chunkIndex: 0, title: 'Notes', mediaType: 'text/markdown', snippet: '…', score: 0.01 },
  { source: 'document', id: 'doc_a#2', documentId: 'doc_a', chunkIndex: 2, title: 'Handbook', mediaType: 'application/pdf', snippet: '…', score: 0.01 },
  { source: 'document', documentId: 'doc_c', chunkIndex: 'one' },
];

/** The part (and UI message stream chunk) of the first passage of `hits`. */
const handbookPart = {
  type: 'source-document',
  sourceId: 'doc_a#2',
  mediaType: 'application/pdf',
  title: 'Handbook, passage 3',
  filename: 'handbook.pdf',
  providerMetadata: { durableChat: { documentId: 'doc_a', chunkIndex: 2 } },
};

describe('citedSources', () => {
  it('cites each document passage of a knowledge tool once, and nothing else', () => {
    expect(citedSources('search_knowledge', hits)).toEqual([
      { sourceId: 'doc_a#2', documentId: 'doc_a', chunkIndex: 2, title: 'Handbook, passage 3', mediaType: 'application/pdf', filename: 'handbook.pdf' },
      { sourceId: 'doc_b#0', documentId: 'doc_b', chunkIndex: 0, title: 'Notes, passage 1', mediaType: 'text/markdown' },
    ]);
    expect(citedSources('semantic_search', hits)).toHaveLength(2);
    expect(citedSources('workspace_read_file', hits)).toEqual([]);
    expect(citedSources('search_knowledge', { truncated: true })).toEqual([]);
  });

  it('puts source-document parts right after the tool call that found them, and replays them from the stored answer', () => {
    const answer = new AnswerBuilder();
    answer.addHop({ content: '' });
    answer.addToolResults([
      { toolCallId: 'c1', toolName: 'search_knowledge', input: { query: 'q' }, content: '…', isError: false, output: hits.slice(0, 2), decision: 'executed' },
      { toolCallId: 'c2', toolName: 'search_knowledge', input: { query: 'q' }, content: 'boom', isError: true, output: null, decision: 'executed' },
    ]);
    answer.addHop({ content: 'Answer.' });
    expect(answer.parts.map((part) => part.type)).toEqual(['step-start', 'tool-search_knowledge', 'source-document', 'tool-search_knowledge', 'step-start', 'text']);
    expect(answer.parts[2]).toEqual(handbookPart);
    const replayed = storedAnswerEvents(answer.parts, { finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } });
    expect(replayed.filter((event) => event.kind === 'source-cited')).toEqual([{ kind: 'source-cited', hop: 0, source: citedSources('search_knowledge', hits)[0] }]);
  });
});

const source = citedSources('search_knowledge', hits)[0]!;
const turn: StreamEvent[] = [
  { kind: 'hop-start', hop: 0, attempt: 1 },
  { kind: 'tool-input-available', hop: 0, toolCallId: 'c1', toolName: 'search_knowledge', input: { query: 'q' } },
  { kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'tool-calls' },
  { kind: 'tool-output-available', hop: 0, toolCallId: 'c1', output: hits.slice(0, 1) },
  { kind: 'source-cited', hop: 0, source },
  { kind: 'hop-start', hop: 1, attempt: 1 },
  { kind: 'text-delta', hop: 1, attempt: 1, delta: 'See the handbook.' },
  { kind: 'hop-end', hop: 1, attempt: 1, finishReason: 'stop' },
  { kind: 'turn-finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } },
];

describe('source-cited in the stream protocols', () => {
  it('is a source-document chunk of the UI message stream', () => {
    const encoder = new UiMessageStreamEncoder({ modernClient: true });
    const chunks = turn.flatMap((event) => encoder.encode(event));
    expect(chunks.filter((chunk) => chunk.type === 'source-document')).toEqual([handbookPart]);
  });

  it('is a URL source the real v4 parser accepts, pointing at the passage', async () => {
    await ensureV4Client();
    const encoder = new DataStreamV4Encoder();
    const body = [...encoder.start('msg_1'), ...turn.flatMap((event) => encoder.encode(event))].join('');
    expect(body).toContain(`h:${JSON.stringify({ sourceType: 'url', id: 'doc_a#2', url: '/api/documents/doc_a/chunks/2', title: 'Handbook, passage 3' })}\n`);
    const parsed = await parseV4(body);
    expect(parsed.order).toContain('source');
    expect(parsed.nonCanonicalLines).toEqual([]);
    expect(parsed.chat.error).toBeNull();
    expect(parsed.chat.message?.parts).toContainEqual({ type: 'source', source: { sourceType: 'url', id: 'doc_a#2', url: citationPath(source), title: 'Handbook, passage 3' } });
  }, 120_000);
});
