/**
 * Memory routes: the user's memories, listed, added, read, edited and deleted.
 *
 * What a user sees (and may change): their own workspace memories, the workspace memories someone
 * shared, and the session memories of their own conversations. Another user's private memory answers
 * 404, exactly like one that never existed, and so does a memory of another workspace. Memories added
 * or edited here are searchable by full text at once and by meaning once the background has embedded
 * them (seconds).
 */
import { Router, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Logger } from '../../logger';
import { requestMemoryEmbedding } from '../../memory/embedding-requests';
import { MemoryRepository, type Memory } from '../../memory/memory-repository';
import { principalOf } from '../auth';
import { sendError } from '../errors';
import { describeIssue } from '../validation';

export interface MemoryRouteDependencies {
  pool: Pool;
  logger: Logger;
  temporal: Client;
  /** The worker's task queue, where the memory-embedding workflow runs. */
  taskQueue: string;
}

/** Longest memory accepted; the prompt shows at most its first 500 characters. */
export const MEMORY_CONTENT_MAX_CHARACTERS = 4000;

const contentSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MEMORY_CONTENT_MAX_CHARACTERS, `must be at most ${MEMORY_CONTENT_MAX_CHARACTERS} characters`);

export const newMemorySchema = z.object({
  content: contentSchema,
  /** Visible to every user of the workspace; private to the caller otherwise. */
  shared: z.boolean().default(false),
});

export const memoryChangesSchema = z
  .object({ content: contentSchema.optional(), shared: z.boolean().optional() })
  .refine((changes) => changes.content !== undefined || changes.shared !== undefined, { message: 'give content or shared', path: ['content'] });

export const memoryListSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  tier: z.enum(['workspace', 'session']).optional(),
  chatId: z.string().min(1).max(200).optional(),
});

const memoryIdSchema = z.string().regex(/^mem_[0-9a-f-]{36}$/);

/** A memory as the API shows it; `scope` says who sees it. */
export function toWire(memory: Memory) {
  return {
    id: memory.id,
    tier: memory.tier,
    scope: memory.tier === 'session' ? 'session' : memory.shared ? 'shared' : 'user',
    content: memory.content,
    shared: memory.shared,
    ...(memory.chatId ? { chatId: memory.chatId } : {}),
    embedded: memory.embedded,
    createdAt: memory.createdAt.toISOString(),
    updatedAt: memory.updatedAt.toISOString(),
  };
}

export function createMemoryRouter(dependencies: MemoryRouteDependencies): Router {
  const { logger, temporal, taskQueue } = dependencies;
  const memories = new MemoryRepository(dependencies.pool);
  const router = Router();

  /** Adds a workspace memory for the caller (or for everyone with `shared: true`); recalled from the next turn on. */
  router.post('/memories', async (request: Request, response: Response) => {
    const parsed = newMemorySchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'body');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const principal = principalOf(request);
    const memory = await memories.addMemory({
      tier: 'workspace',
      workspaceId: principal.workspaceId,
      userId: principal.userId,
      shared: parsed.data.shared,
      content: parsed.data.content,
    });
    logger.info({ workspaceId: principal.workspaceId, memoryId: memory.id, shared: memory.shared }, 'memory added');
    await requestMemoryEmbedding(temporal, taskQueue, principal.workspaceId, logger);
    response.status(201).json({ memory: toWire(memory) });
  });

  /**
   * The memories the caller sees, newest first. `tier` narrows to workspace or session memories,
   * `chatId` to one conversation's session memories; `limit` (1–200, default 50) and `offset` page.
   */
  router.get('/memories', async (request: Request, response: Response) => {
    const parsed = memoryListSchema.safeParse(request.query);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'query');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const principal = principalOf(request);
    const { limit, offset, tier, chatId } = parsed.data;
    const page = await memories.listMemories(principal, { ...(tier ? { tier } : {}), ...(chatId ? { chatId } : {}) }, { limit, offset });
    response.json({ memories: page.map(toWire) });
  });

  /** One memory the caller sees, or 404. */
  router.get('/memories/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const memory = memoryIdSchema.safeParse(request.params.id).success ? await memories.findMemory(principal, request.params.id) : undefined;
    if (!memory) return sendError(response, 404, 'memory_not_found', 'Memory not found.');
    response.json({ memory: toWire(memory) });
  });

  /** Edits a memory the caller sees: its content (re-embedded in the background) and/or whether it is shared. */
  router.patch('/memories/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const parsed = memoryChangesSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'body');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const changes = { ...(parsed.data.content !== undefined ? { content: parsed.data.content } : {}), ...(parsed.data.shared !== undefined ? { shared: parsed.data.shared } : {}) };
    const memory = memoryIdSchema.safeParse(request.params.id).success ? await memories.updateMemory(principal, request.params.id, changes) : undefined;
    if (!memory) return sendError(response, 404, 'memory_not_found', 'Memory not found.');
    logger.info({ workspaceId: principal.workspaceId, memoryId: memory.id }, 'memory edited');
    if (changes.content !== undefined) await requestMemoryEmbedding(temporal, taskQueue, principal.workspaceId, logger);
    response.json({ memory: toWire(memory) });
  });

  /** Deletes a memory the caller sees: 204, or 404 when there is none for them. */
  router.delete('/memories/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const id = request.params.id;
    const deleted = memoryIdSchema.safeParse(id).success && (await memories.deleteMemory(principal, id));
    if (!deleted) return sendError(response, 404, 'memory_not_found', 'Memory not found.');
    logger.info({ workspaceId: principal.workspaceId, memoryId: id }, 'memory deleted');
    response.status(204).end();
  });

  return router;
}
