/**
 * Generated images and attachments on the real stack, once with the filesystem object store and
 * once with the S3 object store against the run's real S3-compatible server: what the client
 * streams, what Postgres stores, what the scripted model receives, what the file routes serve and to
 * whom, and what the limits refuse before anything starts.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { SCRIPTED_PNG_BASE64 } from '../../src/scripted-llm/answers';
import type { RecordedRequest } from '../../src/scripted-llm/server';
import { createObjectStore } from '../../src/storage/create-object-store';
import { brokenObjectStoreEnvironment, OBJECT_STORE_KINDS, objectStoreEnvironment } from '../support/object-stores';
import { chunksOf, readSse, textOf } from '../support/sse';
import { answerRequests } from '../support/chat';
import { startTestStack, type TestStack } from '../support/stack';

const PNG = Buffer.from(SCRIPTED_PNG_BASE64, 'base64');
const IMAGE_URL_PATTERN = /!\[a red dot\]\((\/api\/generated-images\/([a-f0-9]{32}))\)/;
/** Small enough that the oversize test sends a small body. */
const ATTACHMENT_MAX_BYTES = 64 * 1024;

type Part = { type: string; [key: string]: unknown };

function dataUrl(mediaType: string, body: Buffer | string): string {
  return `data:${mediaType};base64,${Buffer.from(body).toString('base64')}`;
}

function filePart(mediaType: string, filename: string, body: Buffer | string): Part {
  return { type: 'file', mediaType, filename, url: dataUrl(mediaType, body) };
}

/** Every payload byte of a workflow's history, as text: what Temporal stored for the turn. */
async function historyPayloadText(stack: TestStack, workflowId: string): Promise<string> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const texts: string[] = [];
  const walk = (value: unknown) => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history.events);
  return texts.join('\n');
}

describe.each(OBJECT_STORE_KINDS)('with the %s object store', (kind) => {
  let stack: TestStack;
  let broken: TestStack;

  beforeAll(async () => {
    [stack, broken] = await Promise.all([
      startTestStack({ environment: { ...objectStoreEnvironment(kind), ATTACHMENT_MAX_BYTES: String(ATTACHMENT_MAX_BYTES), ATTACHMENT_MAX_COUNT: '3' } }),
      startTestStack({ environment: brokenObjectStoreEnvironment(kind) }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([stack?.stop(), broken?.stop()]);
  });

  async function post(target: TestStack, chatId: string, parts: Part[], extra: Record<string, unknown> = {}, apiKey = target.apiKey) {
    const requestId = `msg-${randomUUID()}`;
    const response = await fetch(`${target.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'x-ai-sdk-version': '7' },
      body: JSON.stringify({ id: chatId, messages: [{ id: requestId, role: 'user', parts }], ...extra }),
    });
    return { requestId, response };
  }

  async function turn(target: TestStack, parts: Part[], extra: Record<string, unknown> = {}) {
    const chatId = `chat-${randomUUID()}`;
    const { requestId, response } = await post(target, chatId, parts, extra);
    expect(response.status).toBe(200);
    const chunks = chunksOf(await readSse(response));
    return { chatId, requestId, chunks, text: textOf(chunks) };
  }

  async function storedMessages(target: TestStack, chatId: string) {
    const rows = await target.pool.query("SELECT role, content FROM chat_events WHERE conversation_id = $1 AND type = 'message' ORDER BY seq", [target.conversationKey(chatId)]);
    return rows.rows as Array<{ role: string; content: { parts: Part[] } }>;
  }

  function storedText(parts: Part[]): string {
    return parts.filter((part) => part.type === 'text').map((part) => part.text as string).join('');
  }

  function get(target: TestStack, path: string, apiKey = target.apiKey, headers: Record<string, string> = {}) {
    return fetch(`${target.apiUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  }

  function requestWith(target: TestStack, marker: string): RecordedRequest {
    const found = answerRequests(target.llm, marker)[0];
    if (!found) throw new Error(`no model request contains ${marker}`);
    return found;
  }

  async function createAgent(target: TestStack, fields: { model?: string; allowedTools?: string[] }) {
    const id = `agent-${randomUUID().slice(0, 8)}`;
    await target.pool.query('INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, model) VALUES ($1, $2, $3, $4, $5, $6)', [
      id,
      target.workspaceId,
      id,
      'You are a test agent.',
      fields.allowedTools ?? [],
      fields.model ?? null,
    ]);
    return id;
  }

  describe('generated images', () => {
    it('stores an answer with an inline image with its URL, the same text the client streamed, and serves the image only to its workspace', async () => {
      const result = await turn(stack, [{ type: 'text', text: 'draw a dot [[image=1]]' }]);
      const match = IMAGE_URL_PATTERN.exec(result.text);
      expect(match).not.toBeNull();
      expect(result.text).not.toContain('base64');
      expect(result.chunks.filter((chunk) => chunk.type === 'text-delta').length).toBeGreaterThan(3);
      expect(result.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });

      const answer = (await storedMessages(stack, result.chatId)).find((message) => message.role === 'assistant')!;
      expect(storedText(answer.content.parts)).toBe(result.text);

      const [, url, imageId] = match!;
      const image = await get(stack, url!);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(image.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(image.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await image.arrayBuffer()).equals(PNG)).toBe(true);
      expect((await get(stack, url!, stack.apiKey, { 'if-none-match': image.headers.get('etag')! })).status).toBe(304);

      const store = createObjectStore(stack.configuration.objectStore);
      expect(await store.head(`workspaces/${stack.workspaceId}/generated-images/${imageId}.png`)).toEqual({ contentType: 'image/png', size: PNG.length });

      const other = await stack.addWorkspace();
      const foreign = await get(stack, url!, other.apiKey);
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toEqual({ error: { code: 'image_not_found', message: 'Image not found.' } });
      expect((await get(stack, '/api/generated-images/not-an-id')).status).toBe(404);
    });

    it('uploads an inline image a tool returns: the tool output the client saw and the stored tool part hold the URL', async () => {
      const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
      const marker = randomUUID().slice(0, 8);
      const result = await turn(stack, [{ type: 'text', text: `use test_generate_image for sunset ${marker}` }], { agentId });
      const output = result.chunks.find((chunk) => chunk.type === 'tool-output-available')?.output as { markdown: string };
      expect(output.markdown).toMatch(/^!\[.*sunset.*\]\(\/api\/generated-images\/[a-f0-9]{32}\)$/);

      const answer = (await storedMessages(stack, result.chatId)).find((message) => message.role === 'assistant')!;
      const toolPart = answer.content.parts.find((part) => part.type === 'tool-test_generate_image')!;
      expect(toolPart.output).toEqual(output);
      const toolMessages = stack.llm.requests.flatMap((request) => request.messages).filter((message) => message.role === 'tool' && JSON.stringify(message).includes(marker));
      expect(toolMessages.length).toBeGreaterThan(0);
      expect(JSON.stringify(toolMessages)).not.toContain(SCRIPTED_PNG_BASE64.slice(0, 40));

      const image = await get(stack, output.markdown.match(/\((.*)\)/)![1]!);
      expect(Buffer.from(await image.arrayBuffer()).equals(PNG)).toBe(true);
    });

    it('keeps the base64 in the streamed and stored answer when the upload fails', async () => {
      const result = await turn(broken, [{ type: 'text', text: 'draw a dot [[image=1]]' }]);
      expect(result.text).toContain(`![a red dot](data:image/png;base64,${SCRIPTED_PNG_BASE64})`);
      expect(result.text).not.toContain('/api/generated-images/');
      expect(result.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });
      const answer = (await storedMessages(broken, result.chatId)).find((message) => message.role === 'assistant')!;
      expect(storedText(answer.content.parts)).toBe(result.text);
    });
  });

  describe('attachments', () => {
    it('gives an attached image to the model as an image part and a text file as text, and stores only references', async () => {
      const marker = randomUUID();
      const notes = `Meeting notes ${marker}: ship on Friday.`;
      const result = await turn(stack, [
        { type: 'text', text: `What do these show? ${marker}` },
        filePart('image/png', 'dot.png', PNG),
        filePart('text/plain', 'notes.txt', notes),
      ]);

      const request = requestWith(stack, marker);
      const userMessage = request.messages.filter((message) => message.role === 'user').at(-1)!;
      expect(userMessage.content).toEqual([
        { type: 'text', text: `What do these show? ${marker}` },
        { type: 'image_url', image_url: { url: dataUrl('image/png', PNG) } },
        { type: 'text', text: `<attachment name="notes.txt" type="text/plain">\n${notes}\n</attachment>` },
      ]);
      expect(result.text).toContain(notes);
      expect(result.text).toContain('(I see 1 image: image/png, 112 bytes)');

      const [user] = await storedMessages(stack, result.chatId);
      const files = user!.content.parts.filter((part) => part.type === 'file');
      expect(files).toEqual([
        { type: 'file', mediaType: 'image/png', filename: 'dot.png', url: expect.stringMatching(/^\/api\/attachments\/[a-f0-9]{32}$/) },
        { type: 'file', mediaType: 'text/plain', filename: 'notes.txt', url: expect.stringMatching(/^\/api\/attachments\/[a-f0-9]{32}$/) },
      ]);
      expect(JSON.stringify(user)).not.toContain('base64');

      const history = await historyPayloadText(stack, stack.turnId(result.chatId, result.requestId));
      expect(history).toContain(files[0]!.url as string);
      expect(history).not.toContain(SCRIPTED_PNG_BASE64.slice(0, 40));

      const served = await get(stack, files[0]!.url as string);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await served.arrayBuffer()).equals(PNG)).toBe(true);
      const text = await get(stack, files[1]!.url as string);
      expect(text.headers.get('content-disposition')).toBe('attachment');
      expect(await text.text()).toBe(notes);
      const other = await stack.addWorkspace();
      expect((await get(stack, files[0]!.url as string, other.apiKey)).status).toBe(404);
    });

    it('describes images to a model without vision, and files it cannot read by name and type', async () => {
      const agentId = await createAgent(stack, { model: 'text-only-1' });
      const marker = randomUUID();
      await turn(stack, [{ type: 'text', text: `Look ${marker}` }, filePart('image/png', 'dot.png', PNG), filePart('application/pdf', 'report.pdf', '%PDF-1.4 tiny')], { agentId });
      const userMessage = requestWith(stack, marker).messages.filter((message) => message.role === 'user').at(-1)!;
      expect(userMessage.content).toEqual([
        { type: 'text', text: `Look ${marker}` },
        { type: 'text', text: '[Attached image "dot.png" (image/png, 112 bytes): this model cannot view images.]' },
        { type: 'text', text: '[Attached file "report.pdf" (application/pdf, 13 bytes): its content is not available to you.]' },
      ]);
    });

    it('accepts a message of files only, and keeps earlier attachments in the context of the next turn', async () => {
      const chatId = `chat-${randomUUID()}`;
      const marker = randomUUID();
      const first = await post(stack, chatId, [filePart('text/markdown', 'plan.md', `# Plan ${marker}`)]);
      expect(first.response.status).toBe(200);
      await readSse(first.response);
      const second = await post(stack, chatId, [{ type: 'text', text: 'And now?' }]);
      await readSse(second.response);
      const requests = answerRequests(stack.llm, marker);
      expect(requests).toHaveLength(2);
      const firstUserMessage = requests[1]!.messages.find((message) => message.role === 'user')!;
      expect(firstUserMessage.content).toEqual([{ type: 'text', text: `<attachment name="plan.md" type="text/markdown">\n# Plan ${marker}\n</attachment>` }]);
    });

    async function expectRefusedWithNothingStarted(parts: Part[], status: number, code: string) {
      const chatId = `chat-${randomUUID()}`;
      const { requestId, response } = await post(stack, chatId, [{ type: 'text', text: 'look' }, ...parts]);
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await response.json()).error.code).toBe(code);
      expect((await stack.pool.query('SELECT 1 FROM conversations WHERE chat_id = $1', [chatId])).rowCount).toBe(0);
      await expect(stack.temporal.workflow.getHandle(stack.turnId(chatId, requestId)).describe()).rejects.toThrow(WorkflowNotFoundError);
    }

    it('refuses a file over the size limit with 413 and starts nothing', async () => {
      await expectRefusedWithNothingStarted([filePart('text/plain', 'big.txt', 'x'.repeat(ATTACHMENT_MAX_BYTES + 1))], 413, 'attachment_too_large');
    });

    it('refuses more files than the limit with 413 and starts nothing', async () => {
      await expectRefusedWithNothingStarted([1, 2, 3, 4].map((index) => filePart('text/plain', `${index}.txt`, 'hi')), 413, 'too_many_attachments');
    });

    it('refuses a type that is not allowed, or content that is not what its type says, with 415 and starts nothing', async () => {
      await expectRefusedWithNothingStarted([filePart('application/zip', 'code.zip', 'PK\u0003\u0004')], 415, 'unsupported_media_type');
      await expectRefusedWithNothingStarted([filePart('image/png', 'fake.png', 'not a png at all')], 415, 'unsupported_media_type');
    });
  });
});
