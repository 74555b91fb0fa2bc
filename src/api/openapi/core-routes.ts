/**
 * OpenAPI entries of the routes that validate on their own: chat (SSE), resume, stop, memories,
 * documents, stored files and usage. Their request schemas are the ones the handlers parse with; their handlers stay where they
 * are (src/api/routes/). A new route should rather use `defineRoute`, which documents it by itself.
 */
import { z } from 'zod';
import { approvalAnswerSchema, chatRequestSchema, steeringSchema } from '../chat-request';
import { DOCUMENT_STATUSES } from '../../documents/document-repository';
import { documentPageSchema, jsonUploadSchema, rawUploadQuerySchema } from '../routes/documents';
import { memoryChangesSchema, memoryListSchema, newMemorySchema } from '../routes/memories';
import { usageQuerySchema } from '../routes/usage';
import type { ApiDocument } from './api-document';

const chatIdParams = z.object({ id: z.string().min(1).max(200).describe('The chat id the client chose (`useChat({ id })`).') });

const streamHeaders = {
  'X-AI-SDK-Version':
    '`7` for ai ≥ 7 clients (gets `reset-step` on a retried hop, `steering-message`, `tool-approval-response`); `6` or more for `tool-approval-request` / `tool-output-denied` chunks and a response that ends while the turn waits for an approval; `4` for the v4 data stream protocol.',
  'Last-Event-ID': 'Resume after this event id (the SSE `id:` of the last event received).',
};

const streamResponse = {
  description:
    'The AI SDK UI message stream (SSE, `x-vercel-ai-ui-message-stream: v1`, ending `data: [DONE]`), or the v4 data stream with `?protocol=data` or `X-AI-SDK-Version: 4`.',
  contentType: 'text/event-stream',
  headers: { 'x-vercel-ai-ui-message-stream': '`v1` on the UI message stream.', 'x-vercel-ai-data-stream': '`v1` on the v4 data stream.' },
};

/** A memory as the API shows it (src/api/routes/memories.ts `toWire`). */
const memorySchema = z.object({
  id: z.string(),
  tier: z.enum(['workspace', 'session']),
  scope: z.enum(['user', 'shared', 'session']).describe('Who sees it: the caller only, every user of the workspace, or the conversation.'),
  content: z.string(),
  shared: z.boolean(),
  chatId: z.string().optional(),
  embedded: z.boolean().describe('Whether its embedding is computed (search by meaning); full-text search works at once.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const memoryIdParams = z.object({ id: z.string().describe('`mem_<uuid>`') });

/** A document as the API shows it (src/api/routes/documents.ts `toWire`). */
const documentSchema = z.object({
  id: z.string(),
  title: z.string(),
  filename: z.string().optional(),
  mediaType: z.string(),
  byteSize: z.number().int(),
  status: z.enum(DOCUMENT_STATUSES),
  chunkCount: z.number().int(),
  embeddedChunks: z.number().int(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const documentIdParams = z.object({ id: z.string().describe('`doc_<uuid>`') });
const fileIdParams = z.object({ id: z.string() });
const storedFileResponse = { description: 'The stored bytes with their content type, cached privately with the id as ETag (304 on `If-None-Match`).', contentType: '*/*' };

const usageRowSchema = z.looseObject({
  agentId: z.string().nullable().optional(),
  model: z.string().optional(),
  provider: z.string().nullable().optional(),
  day: z.string().optional(),
  turns: z.number().int(),
  hops: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number(),
  avgLatencyMs: z.number(),
  avgTimeToFirstTokenMs: z.number().nullable(),
  byokHops: z.number().int().describe('Hops run on a workspace connection (bring your own key).'),
});

export function registerCoreRoutes(document: ApiDocument): void {
  document.register({
    method: 'post',
    path: '/chat',
    summary: 'Send a message and stream the answer',
    description:
      'The body `DefaultChatTransport` sends, plus `agentId`, `useSystemLlm` and `toolHints`. Starts the turn (a Temporal workflow), or attaches to it when the same message is already running; a finished turn is streamed back, marked `cached` once its log expired. A member key may only continue its own chats. While another turn of the chat runs, the agent\'s `busyPolicy` decides: `queue` (the stream starts with `data-turn-queued`), `interrupt` (the running turn stops, keeping its partial answer) or `reject` (409 `turn_running` with its `turnId`). When the last message is the assistant\'s with tool parts in state `approval-responded` (what ai 6/7 send after `addToolApprovalResponse`), the answers go to the running turn and the stream continues the same assistant message.',
    tags: ['Chat'],
    body: chatRequestSchema,
    requestHeaders: streamHeaders,
    responses: {
      200: streamResponse,
      404: { description: 'The agent, or the chat, is not visible to this key.' },
      409: { description: 'This message already ran and left no answer; or a turn of the chat runs and the agent\'s busy policy is `reject` (`turn_running`, with `turnId`).' },
    },
  });
  document.register({
    method: 'get',
    path: '/chat/:id/events',
    summary: "Follow the conversation's events",
    description:
      'SSE, one JSON object per event with an `id:` for `Last-Event-ID`: `turn-started` (`messageId`, `userMessageId`, `queuedBehind`), `turn-queued` / `turn-dequeued` (`behindTurnId`), `turn-awaiting-approval` (`approvals`), `turn-approval-answered` (`answers`), `turn-steered` (`id`, `text`) and `turn-finished` (`finishReason`, `messageId`), each with its `turnId`. From the start of the log (kept `STREAM_RETENTION_SECONDS`) or after `Last-Event-ID`, then live; it stays open until the client closes it. Every follower sees the same order.',
    tags: ['Chat'],
    params: chatIdParams,
    requestHeaders: { 'Last-Event-ID': 'Resume after this event id.' },
    responses: {
      200: { description: 'The event stream.', contentType: 'text/event-stream' },
      404: { description: 'The chat does not exist or is not visible to this key.' },
    },
  });
  document.register({
    method: 'post',
    path: '/chat/:id/approvals/:approvalId',
    summary: 'Answer a tool approval request',
    description:
      'The approval id comes from the stream (`tool-approval-request`, or `data-tool-approval-request` for older clients). Delivered to the running turn as a validated Temporal update: an unknown id, another workspace\'s or a finished turn\'s is a 404 and a different second answer a 409, and neither enters the turn\'s history. Approved, the tool runs once; denied, the stream shows `tool-output-denied` and the model reads the reason.',
    tags: ['Chat'],
    params: chatIdParams.extend({ approvalId: z.string().min(1).max(200).describe('The `approvalId` of the request.') }),
    body: approvalAnswerSchema,
    responses: {
      200: {
        description: 'The answer was applied (or, `repeated: true`, the same answer had been applied already: a retry is safe).',
        schema: z.object({ approvalId: z.string(), toolCallId: z.string().optional(), approved: z.boolean(), turnId: z.string(), repeated: z.literal(true).optional() }),
      },
      400: { description: 'The body is not `{approved, reason?}`.' },
      404: { description: 'No such pending approval in this chat (`approval_not_found`), or the chat is not visible to this key.' },
      409: { description: 'The approval was already answered (`approval_already_answered`, with the `answer`), by the user or by the timeout.' },
    },
  });
  document.register({
    method: 'post',
    path: '/chat/:id/steer',
    summary: 'Steer the running turn',
    description:
      'Delivered to the running turn as a validated Temporal update; the model reads it at the next hop boundary (a turn whose model already answered gets one more hop). The stream shows it (`steering-message` for ai 7, `data-steering` before), and the conversation stores it as a user message in order.',
    tags: ['Chat'],
    params: chatIdParams,
    body: steeringSchema,
    responses: {
      202: { description: 'The turn took the message.', schema: z.object({ accepted: z.literal(true), id: z.string(), turnId: z.string() }) },
      400: { description: 'The body is not `{text, id?}`.' },
      404: { description: 'The chat is not visible to this key.' },
      409: { description: 'No turn of the chat is running, or it is finishing (`turn_not_running`).' },
    },
  });
  document.register({
    method: 'get',
    path: '/chat/:id/stream',
    summary: "Resume the latest turn's stream",
    description: 'From its start (or after `Last-Event-ID`), then live. 204 when no turn is active.',
    tags: ['Chat'],
    params: chatIdParams,
    query: z.object({ protocol: z.enum(['data']).optional().describe('`data`: the v4 data stream protocol.') }),
    requestHeaders: streamHeaders,
    responses: { 200: streamResponse, 204: { description: 'No turn to resume.' }, 404: { description: 'The chat is not visible to this key.' } },
  });
  document.register({
    method: 'post',
    path: '/chat/:id/stop',
    summary: 'Stop the running turn',
    description: 'Cancels the workflow; the partial answer is kept with finish reason `cancelled`.',
    tags: ['Chat'],
    params: chatIdParams,
    responses: {
      200: { description: 'Whether a running turn was stopped.', schema: z.object({ stopped: z.boolean(), turnId: z.string().optional() }) },
      404: { description: 'The chat is not visible to this key.' },
    },
  });
  document.register({
    method: 'post',
    path: '/memories',
    summary: 'Add a memory',
    description: "A workspace memory of the caller (`shared: true`: of every user of the workspace); recalled from the next turn on, by full text at once and by meaning once embedded.",
    tags: ['Memories'],
    body: newMemorySchema,
    responses: { 201: { description: 'The memory.', schema: z.object({ memory: memorySchema }) } },
  });
  document.register({
    method: 'get',
    path: '/memories',
    summary: 'List the memories the caller sees',
    description: 'Their own and shared workspace memories and the session memories of their conversations, newest first; `tier` and `chatId` narrow the list.',
    tags: ['Memories'],
    query: memoryListSchema,
    responses: { 200: { description: 'Newest first.', schema: z.object({ memories: z.array(memorySchema) }) } },
  });
  document.register({
    method: 'get',
    path: '/memories/:id',
    summary: 'Read a memory',
    tags: ['Memories'],
    params: memoryIdParams,
    responses: { 200: { description: 'The memory.', schema: z.object({ memory: memorySchema }) }, 404: { description: 'No such memory for this key.' } },
  });
  document.register({
    method: 'patch',
    path: '/memories/:id',
    summary: 'Edit a memory',
    description: 'Its content (embedded again in the background) and/or whether it is shared.',
    tags: ['Memories'],
    params: memoryIdParams,
    body: memoryChangesSchema,
    responses: { 200: { description: 'The memory.', schema: z.object({ memory: memorySchema }) }, 404: { description: 'No such memory for this key.' } },
  });
  document.register({
    method: 'delete',
    path: '/memories/:id',
    summary: 'Delete a memory',
    tags: ['Memories'],
    params: memoryIdParams,
    responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such memory for this key.' } },
  });
  document.register({
    method: 'post',
    path: '/documents',
    summary: 'Upload a document',
    description:
      'JSON `{title, text, mediaType?, filename?}`, or the raw file as the body with its content type (`text/plain`, `text/markdown`, `application/pdf`, or `application/octet-stream` with a `filename` ending .txt/.md/.pdf) and `title`/`filename` in the query. Answers 202 with the document `pending`; the ingestion workflow extracts, chunks and embeds it.',
    tags: ['Documents'],
    query: rawUploadQuerySchema,
    body: jsonUploadSchema,
    responses: { 202: { description: 'Accepted; ingestion runs in the background.', schema: z.object({ document: documentSchema }) }, 413: { description: 'Larger than DOCUMENT_MAX_BYTES.' }, 415: { description: 'Not a text, Markdown or PDF file.' } },
  });
  document.register({
    method: 'get',
    path: '/documents',
    summary: 'List documents',
    tags: ['Documents'],
    query: documentPageSchema,
    responses: { 200: { description: 'Newest first.', schema: z.object({ documents: z.array(documentSchema) }) } },
  });
  document.register({
    method: 'get',
    path: '/documents/:id',
    summary: 'Read a document: status, chunks, embedded chunks, error',
    tags: ['Documents'],
    params: documentIdParams,
    responses: { 200: { description: 'The document.', schema: z.object({ document: documentSchema }) }, 404: { description: 'No such document in this workspace.' } },
  });
  document.register({
    method: 'get',
    path: '/documents/:id/chunks/:index',
    summary: 'Read one passage of a document (what a citation points at)',
    tags: ['Documents'],
    params: z.object({ id: z.string(), index: z.coerce.number().int().min(0) }),
    responses: { 200: { description: 'The passage.', schema: z.object({ chunk: z.object({ documentId: z.string(), chunkIndex: z.number().int(), title: z.string().optional(), content: z.string(), start: z.number().int(), end: z.number().int() }) }) }, 404: { description: 'No such document or passage.' } },
  });
  document.register({
    method: 'delete',
    path: '/documents/:id',
    summary: 'Delete a document and its chunks',
    tags: ['Documents'],
    params: documentIdParams,
    responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such document in this workspace.' } },
  });
  document.register({
    method: 'get',
    path: '/generated-images/:id',
    summary: 'An image an answer generated',
    description: 'Stored by the worker when the model answered with an inline image; the answer links here.',
    tags: ['Files'],
    params: fileIdParams,
    responses: { 200: storedFileResponse, 304: { description: 'Not modified.' }, 404: { description: 'No such image in this workspace.' } },
  });
  document.register({
    method: 'get',
    path: '/attachments/:id',
    summary: 'A file a user attached to a message',
    tags: ['Files'],
    params: fileIdParams,
    responses: { 200: storedFileResponse, 304: { description: 'Not modified.' }, 404: { description: 'No such file in this workspace.' } },
  });
  document.register({
    method: 'get',
    path: '/usage',
    summary: 'LLM usage of the workspace',
    description: 'Turns, hops, tokens, cost, latency and BYOK hops, grouped by agent, model, provider and/or UTC day, optionally within [from, to).',
    tags: ['Usage'],
    access: 'admin',
    query: usageQuerySchema,
    responses: {
      200: {
        description: 'One row per group.',
        schema: z.object({ workspaceId: z.string(), from: z.string().nullable(), to: z.string().nullable(), groupBy: z.array(z.string()), rows: z.array(usageRowSchema) }),
      },
    },
  });
}
