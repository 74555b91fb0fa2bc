/**
 * Documents on the real stack: uploads of text, Markdown and a real PDF through the API, ingested in
 * the background by the `ingestDocument` workflow (chunks, vectors, status), found by the knowledge
 * tools by words and by meaning, and cited in the stream as AI SDK `source-document` parts that the
 * real `ai` chat client receives and the stored answer keeps.
 */
import { randomUUID } from 'node:crypto';
import { createToolActivities } from '../../src/activities/tools';
import { searchDocumentChunks } from '../../src/documents/document-repository';
import { deploymentEmbedder } from '../../src/embeddings/embedder';
import { createLogger } from '../../src/logger';
import { toolCallKey } from '../../src/shared/ids';
import { assistantText, runAiClient } from '../support/ai-client';
import { api, eventually, testEmbedder, TEST_MINIMUM_SIMILARITY, TEST_STACK_ENVIRONMENT } from '../support/memory';
import { pdfWithPages } from '../support/pdf';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ environment: TEST_STACK_ENVIRONMENT });
});

afterAll(async () => {
  await stack?.stop();
});

interface WireDocument {
  id: string;
  title: string;
  filename?: string;
  mediaType: string;
  status: string;
  chunkCount: number;
  embeddedChunks: number;
  error?: string;
}

async function settled(apiKey: string, id: string): Promise<WireDocument> {
  const call = api(stack, apiKey);
  return eventually(`document ${id} to be ingested`, async () => {
    const { document } = (await (await call('GET', `/documents/${id}`)).json()) as { document: WireDocument };
    return document.status === 'ready' || document.status === 'failed' ? document : undefined;
  });
}

async function upload(apiKey: string, body: Buffer | string, contentType: string, query = ''): Promise<Response> {
  return api(stack, apiKey)('POST', `/documents${query}`, Buffer.isBuffer(body) ? body : Buffer.from(body), { 'content-type': contentType });
}

const travelPage = [
  'Travel and expenses.',
  'Employees who travel for work book trains and flights through the travel desk.',
  'Hotel stays up to 150 euros per night are accepted without approval.',
  'Keep every receipt: expense claims without receipts are returned unpaid.',
  'Claims are submitted in the expenses app within 30 days of the trip.',
  'Meals are covered up to 40 euros per day while travelling.',
  'Taxis are fine late at night or when no train goes there.',
  'Mileage for a private car is paid at 30 cents per kilometre.',
  'Business class is allowed on flights longer than six hours.',
  'Travel insurance is arranged by the company for every trip abroad.',
  'Per diems abroad follow the national tables published each January.',
  'Cancelled trips are refunded through the travel desk, not by the traveller.',
];
const securityPage = [
  'Security badges.',
  'A lost badge must be reported to the security desk on the same day.',
  'The badge replacement fee is 25 euros, deducted from the next salary.',
  'Visitors wear a red lanyard and are accompanied at all times.',
  'Laptops are locked with a cable when left on a desk overnight.',
  'Phishing attempts are forwarded to the security team, never answered.',
  'Doors to the server room stay closed; propping them open is not allowed.',
  'The alarm code changes every quarter and is never written down.',
  'Badges are personal and never lent, not even for a minute.',
  'Tailgating through the main entrance is reported to the security desk.',
  'Guest wifi is separate from the office network and needs no badge.',
  'Shredding bins stand next to each printer for confidential paper.',
];

describe('uploading documents', () => {
  it('ingests a PDF in the background into overlapping chunks with vectors, and serves each passage', async () => {
    const { apiKey } = await stack.addWorkspace();
    const response = await upload(apiKey, pdfWithPages([travelPage, securityPage]), 'application/pdf', '?title=Staff%20handbook&filename=handbook.pdf');
    expect(response.status).toBe(202);
    const { document } = (await response.json()) as { document: WireDocument };
    expect(document).toMatchObject({ title: 'Staff handbook', filename: 'handbook.pdf', mediaType: 'application/pdf', status: 'pending' });

    const ready = await settled(apiKey, document.id);
    expect(ready).toMatchObject({ status: 'ready', chunkCount: 2, embeddedChunks: 2 });
    const call = api(stack, apiKey);
    const first = (await (await call('GET', `/documents/${document.id}/chunks/0`)).json()).chunk;
    const second = (await (await call('GET', `/documents/${document.id}/chunks/1`)).json()).chunk;
    expect(first.content).toMatch(/^Travel and expenses\./);
    expect(first.content).not.toContain('badge');
    expect(second.content).toContain('The badge replacement fee is 25 euros');
    // The chunks overlap: the second starts inside the first.
    expect(second.start).toBeLessThan(first.end);
    expect((await call('GET', `/documents/${document.id}/chunks/2`)).status).toBe(404);
    const listed = (await (await call('GET', '/documents')).json()).documents as WireDocument[];
    expect(listed.map((item) => item.id)).toEqual([document.id]);
  });

  it('takes Markdown as JSON and text as a raw body, and refuses what it cannot read', async () => {
    const { apiKey } = await stack.addWorkspace();
    const call = api(stack, apiKey);
    const markdown = await call('POST', '/documents', { title: 'Onboarding', text: '# Onboarding\n\nNew staff get a laptop on day one.', mediaType: 'text/markdown' });
    expect(markdown.status).toBe(202);
    const plain = await upload(apiKey, 'Parking is free after 6 pm.', 'text/plain; charset=utf-8', '?title=Parking');
    const byExtension = await upload(apiKey, '# Notes\n\nThe wifi is called Guest.', 'application/octet-stream', '?filename=notes.md');
    for (const accepted of [markdown, plain, byExtension]) {
      const { document } = (await accepted.json()) as { document: WireDocument };
      expect(await settled(apiKey, document.id)).toMatchObject({ status: 'ready', chunkCount: 1, embeddedChunks: 1 });
    }
    const notes = ((await (await call('GET', '/documents')).json()).documents as WireDocument[]).find((item) => item.filename === 'notes.md');
    expect(notes).toMatchObject({ title: 'notes.md', mediaType: 'text/markdown' });

    const broken = await upload(apiKey, Buffer.from('%PDF-1.4 this is not really a PDF'), 'application/pdf', '?title=Broken');
    expect(broken.status).toBe(202);
    const failed = await settled(apiKey, ((await broken.json()) as { document: WireDocument }).document.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/PDF could not be read/);

    const image = await upload(apiKey, Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'image/png');
    expect(image.status).toBe(415);
    expect((await image.json()).error.code).toBe('unsupported_media_type');
    const empty = await call('POST', '/documents', { title: 'Empty', text: '   ' });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.field).toBe('text');
    const path = await upload(apiKey, 'x', 'text/plain', '?filename=../../etc/passwd');
    expect(path.status).toBe(400);
    expect((await path.json()).error.field).toBe('filename');
  });

  it("keeps a workspace's documents from every other workspace", async () => {
    const owner = await stack.addWorkspace();
    const stranger = await stack.addWorkspace();
    const { document } = (await (await upload(owner.apiKey, 'Quarterly numbers are confidential.', 'text/plain')).json()) as { document: WireDocument };
    await settled(owner.apiKey, document.id);
    const asStranger = api(stack, stranger.apiKey);
    expect((await asStranger('GET', `/documents/${document.id}`)).status).toBe(404);
    expect((await asStranger('GET', `/documents/${document.id}/chunks/0`)).status).toBe(404);
    expect((await asStranger('DELETE', `/documents/${document.id}`)).status).toBe(404);
    expect((await (await asStranger('GET', '/documents')).json()).documents).toEqual([]);
    expect((await api(stack, owner.apiKey)('DELETE', `/documents/${document.id}`)).status).toBe(204);
    expect((await stack.pool.query('SELECT 1 FROM document_chunks WHERE document_id = $1', [document.id])).rowCount).toBe(0);
  });
});

describe('finding and citing documents', () => {
  it('finds a passage by meaning when it shares no word with the question', async () => {
    const { apiKey, workspaceId } = await stack.addWorkspace();
    const { document } = (await (await upload(apiKey, 'Staff who travel for work are reimbursed within 14 days.', 'text/plain', '?title=Expenses')).json()) as { document: WireDocument };
    await settled(apiKey, document.id);
    const chatId = `chat-${randomUUID()}`;
    const conversationId = stack.conversationKey(chatId, workspaceId);
    await stack.pool.query('INSERT INTO conversations (id, chat_id, workspace_id, user_id) VALUES ($1, $2, $3, $4)', [conversationId, chatId, workspaceId, `${workspaceId}-user`]);
    const question = 'How soon are employees given a refund for a trip?';

    const embedder = testEmbedder(stack.pool, stack.llm.url);
    expect(await searchDocumentChunks(stack.pool, workspaceId, question, { limit: 5, candidates: 20, minimumSimilarity: TEST_MINIMUM_SIMILARITY })).toEqual([]);

    const { executeTool } = createToolActivities({
      pool: stack.pool,
      logger: createLogger('silent', 'documents-test'),
      workspaceFilesRoot: stack.configuration.workspaceFilesRoot,
      embedders: deploymentEmbedder(embedder),
      minimumSimilarity: TEST_MINIMUM_SIMILARITY,
    });
    for (const tool of ['search_knowledge', 'semantic_search']) {
      const turnId = `turn-${randomUUID()}`;
      const result = await executeTool({
        turnId,
        hop: 0,
        toolCallId: 'call_1',
        idempotencyKey: toolCallKey(turnId, 0, 'call_1'),
        workspaceId,
        conversationId,
        name: tool,
        arguments: { query: question },
        allowedTools: ['search_*'],
      });
      expect(result.isError).toBe(false);
      expect(result.output).toEqual([
        {
          source: 'document',
          id: `${document.id}#0`,
          documentId: document.id,
          chunkIndex: 0,
          title: 'Expenses',
          mediaType: 'text/plain',
          snippet: 'Staff who travel for work are reimbursed within 14 days.',
          score: expect.any(Number),
        },
      ]);
    }
  });

  it('cites the passage a search found as a source-document part, in the stream and in the stored answer', async () => {
    const { apiKey, workspaceId } = await stack.addWorkspace();
    await stack.pool.query("UPDATE agents SET allowed_tools = '{search_*}' WHERE workspace_id = $1 AND is_default", [workspaceId]);
    const { document } = (await (await upload(apiKey, pdfWithPages([travelPage, securityPage]), 'application/pdf', '?title=Staff%20handbook&filename=handbook.pdf')).json()) as {
      document: WireDocument;
    };
    await settled(apiKey, document.id);

    const chatId = `chat-${randomUUID()}`;
    const result = await runAiClient({
      apiUrl: stack.apiUrl,
      apiKey,
      chatId,
      headers: { 'x-ai-sdk-version': '7' },
      steps: [{ action: 'send', text: 'use search_knowledge for badge replacement fee' }],
    });
    expect(result.status).toBe('ready');
    const answer = result.messages.at(-1)!;
    const sources = answer.parts.filter((part) => part.type === 'source-document');
    expect(sources[0]).toEqual({
      type: 'source-document',
      sourceId: `${document.id}#1`,
      mediaType: 'application/pdf',
      title: 'Staff handbook, passage 2',
      filename: 'handbook.pdf',
      providerMetadata: { durableChat: { documentId: document.id, chunkIndex: 1 } },
    });
    // The source follows the tool call that found it, and the model answered from what it returned.
    const types = answer.parts.map((part) => part.type);
    expect(types.indexOf('source-document')).toBeGreaterThan(types.indexOf('tool-search_knowledge'));
    expect(assistantText(answer)).toMatch(new RegExp(`^Tool results: .*${document.id}#1`));

    const stored = await stack.pool.query("SELECT content FROM chat_events WHERE conversation_id = $1 AND role = 'assistant'", [stack.conversationKey(chatId, workspaceId)]);
    const storedSources = (stored.rows[0].content.parts as Array<{ type: string }>).filter((part) => part.type === 'source-document');
    expect(storedSources).toEqual(sources.map(({ type, sourceId, mediaType, title, filename, providerMetadata }) => ({ type, sourceId, mediaType, title, filename, providerMetadata })));
  });
});
