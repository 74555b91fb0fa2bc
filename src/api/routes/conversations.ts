/**
 * Conversation routes, what the chat app's sidebar and message view need:
 * - `GET /api/conversations` the caller's conversations, most recent activity first, paged;
 * - `GET /api/conversations/:id` one conversation and its messages as AI SDK `UIMessage`s, ready to
 *   be `useChat`'s initial messages, plus whether a turn is still answering (then resume the stream);
 * - `PATCH /api/conversations/:id` rename;
 * - `DELETE /api/conversations/:id` delete, with its events and session memories.
 *
 * Conversations are the caller's own: another user's or another workspace's answers 404, exactly
 * like one that never existed.
 */
import { Router, type Request, type Response } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { decodeCursor, TITLE_MAX_CHARACTERS, type ConversationRepository, type ConversationSummary } from '../../db/conversation-repository';
import type { Logger } from '../../logger';
import type { EventLog } from '../../stream/event-log';
import { CLIENT_ID_PATTERN } from '../../shared/ids';
import { principalOf } from '../auth';
import { sendError } from '../errors';
import type { ApiDocument } from '../openapi/api-document';

export interface ConversationRouteDependencies {
  conversations: ConversationRepository;
  eventLog: EventLog;
  temporal: Client;
  logger: Logger;
  /** How long a delete waits for a running turn to stop before it answers 409. */
  stopTimeoutMs?: number;
}

const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z
    .string()
    .max(1000)
    .transform((value, context) => {
      const cursor = decodeCursor(value);
      if (!cursor) context.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
      return cursor ?? z.NEVER;
    })
    .optional(),
});

const renameSchema = z.object({
  title: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(TITLE_MAX_CHARACTERS, `must be at most ${TITLE_MAX_CHARACTERS} characters`),
});

/** The chat id rule of `POST /api/chat`: anything else cannot name a conversation. */
const conversationIdSchema = z.string().regex(CLIENT_ID_PATTERN);

function describeIssue(error: z.ZodError, fallbackField: string): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.join('.') || fallbackField;
  return { field, message: `${field}: ${issue.message}` };
}

function toWire(conversation: ConversationSummary) {
  return {
    id: conversation.id,
    title: conversation.title,
    titleSource: conversation.titleSource,
    agentId: conversation.agentId,
    createdAt: conversation.createdAt.toISOString(),
    lastActivityAt: conversation.updatedAt.toISOString(),
  };
}

function sleep(milliseconds: number) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

const conversationWireSchema = z.object({
  id: z.string().describe('The chat id (`useChat({ id })`).'),
  title: z.string(),
  titleSource: z.enum(['message', 'generated', 'user']).describe('`message`: the first message; `generated`: written by the agent\'s model; `user`: renamed.'),
  agentId: z.string().nullable(),
  createdAt: z.string(),
  lastActivityAt: z.string(),
});
const uiMessageSchema = z.looseObject({ id: z.string(), role: z.enum(['user', 'assistant', 'system']), parts: z.array(z.looseObject({ type: z.string() })), metadata: z.looseObject({}) });

/** The OpenAPI entries of these routes (they validate on their own, with the schemas above). */
export function documentConversationRoutes(document: ApiDocument): void {
  const params = z.object({ id: z.string().min(1).max(200).describe('The chat id.') });
  const notFound = { description: 'No conversation of the caller with this chat id.' };
  document.register({
    method: 'get',
    path: '/conversations',
    summary: "List the caller's conversations",
    description: 'Most recent activity first, a page at a time.',
    tags: ['Conversations'],
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(30), cursor: z.string().optional().describe('`nextCursor` of the previous page.') }),
    responses: { 200: { description: 'A page of conversations.', schema: z.object({ conversations: z.array(conversationWireSchema), nextCursor: z.string().nullable() }) } },
  });
  document.register({
    method: 'get',
    path: '/conversations/:id',
    summary: 'Read a conversation as UIMessages',
    description: '`messages` are `useChat` initial messages; an answer carries finish reason, usage, model, cost and agent as metadata. `running`: a turn still answers the last message (resume its stream).',
    tags: ['Conversations'],
    params,
    responses: { 200: { description: 'The conversation.', schema: z.object({ conversation: conversationWireSchema, messages: z.array(uiMessageSchema), running: z.boolean() }) }, 404: notFound },
  });
  document.register({
    method: 'patch',
    path: '/conversations/:id',
    summary: 'Rename a conversation',
    description: 'A name the user chose is never replaced by a generated title.',
    tags: ['Conversations'],
    params,
    body: z.object({ title: z.string().min(1).max(TITLE_MAX_CHARACTERS) }),
    responses: { 200: { description: 'The renamed conversation.', schema: z.object({ conversation: conversationWireSchema }) }, 404: notFound },
  });
  document.register({
    method: 'delete',
    path: '/conversations/:id',
    summary: 'Delete a conversation',
    description: 'With its chat events and session memories; a running turn is cancelled first. Usage rows stay.',
    tags: ['Conversations'],
    params,
    responses: { 204: { description: 'Deleted.' }, 404: notFound, 409: { description: 'A turn is still running and did not stop in time.' } },
  });
}

export function createConversationRouter(dependencies: ConversationRouteDependencies): Router {
  const { conversations, eventLog, temporal, logger } = dependencies;
  const stopTimeoutMs = dependencies.stopTimeoutMs ?? 15_000;
  const router = Router();

  /** The workflow status of the conversation's latest turn (by its key), or undefined when there is none. */
  async function latestTurnStatus(conversationKey: string): Promise<{ turnId: string; running: boolean } | undefined> {
    const turnId = await eventLog.latestTurn(conversationKey);
    if (!turnId) return undefined;
    try {
      const description = await temporal.workflow.getHandle(turnId).describe();
      return { turnId, running: description.status.name === 'RUNNING' };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The caller's conversations, most recent activity first. `limit` (1–100, default 30) sets the
   * page size; `cursor` (the previous page's `nextCursor`) continues after it. Read-only.
   */
  router.get('/conversations', async (request: Request, response: Response) => {
    const parsed = listQuerySchema.safeParse(request.query);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'query');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const page = await conversations.list(principalOf(request), { limit: parsed.data.limit, ...(parsed.data.cursor ? { cursor: parsed.data.cursor } : {}) });
    response.json({ conversations: page.conversations.map(toWire), nextCursor: page.nextCursor });
  });

  /**
   * One conversation with its messages in the `UIMessage` format. `running` says a turn is still
   * answering the last user message: a client then resumes its stream (`GET /api/chat/:id/stream`)
   * instead of showing the question unanswered. Read-only.
   */
  router.get('/conversations/:id', async (request: Request<{ id: string }>, response: Response) => {
    const id = request.params.id;
    const owner = principalOf(request);
    const conversation = conversationIdSchema.safeParse(id).success ? await conversations.find(owner, id) : undefined;
    if (!conversation) return sendError(response, 404, 'conversation_not_found', 'Conversation not found.');
    const messages = await conversations.messages(conversation);
    response.json({ conversation: toWire(conversation), messages, running: messages.at(-1)?.role === 'user' });
  });

  /** Renames the conversation; a generated title never replaces a chosen one. Idempotent. */
  router.patch('/conversations/:id', async (request: Request<{ id: string }>, response: Response) => {
    const parsed = renameSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'body');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const id = request.params.id;
    const renamed = conversationIdSchema.safeParse(id).success ? await conversations.rename(principalOf(request), id, parsed.data.title) : undefined;
    if (!renamed) return sendError(response, 404, 'conversation_not_found', 'Conversation not found.');
    response.json({ conversation: toWire(renamed) });
  });

  /**
   * Deletes the conversation with its chat events and session memories: 204, or 404 when the caller
   * has no such conversation. A turn still answering is cancelled first (its answer would otherwise
   * be written into a conversation that no longer exists); when it does not stop within the stop
   * timeout the answer is 409 and nothing is deleted.
   */
  router.delete('/conversations/:id', async (request: Request<{ id: string }>, response: Response) => {
    const id = request.params.id;
    const owner = principalOf(request);
    const conversation = conversationIdSchema.safeParse(id).success ? await conversations.find(owner, id) : undefined;
    if (!conversation) return sendError(response, 404, 'conversation_not_found', 'Conversation not found.');
    const turn = await latestTurnStatus(conversation.key);
    if (turn?.running) {
      await temporal.workflow.getHandle(turn.turnId).cancel();
      const deadline = Date.now() + stopTimeoutMs;
      while ((await latestTurnStatus(conversation.key))?.running) {
        if (Date.now() > deadline) return sendError(response, 409, 'turn_running', 'A turn of this conversation is still running; stop it and try again.');
        await sleep(100);
      }
    }
    const deleted = await conversations.delete(owner, id);
    if (!deleted) return sendError(response, 404, 'conversation_not_found', 'Conversation not found.');
    logger.info({ workspaceId: owner.workspaceId, conversationId: id }, 'conversation deleted');
    response.status(204).end();
  });

  return router;
}
