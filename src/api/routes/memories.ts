/**
 * Workspace memory routes: add (`POST /api/memories`), list (`GET /api/memories`) and delete
 * (`DELETE /api/memories/:id`) the facts every conversation of the caller's workspace may recall.
 * A memory of another workspace answers 404, exactly like one that never existed.
 */
import { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Logger } from '../../logger';
import { MemoryRepository, type Memory } from '../../memory/memory-repository';
import { principalOf } from '../auth';
import { sendError } from '../errors';

export interface MemoryRouteDependencies {
  pool: Pool;
  logger: Logger;
}

/** Longest memory accepted; the prompt shows at most its first 500 characters. */
export const MEMORY_CONTENT_MAX_CHARACTERS = 4000;

const newMemorySchema = z.object({
  content: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(MEMORY_CONTENT_MAX_CHARACTERS, `must be at most ${MEMORY_CONTENT_MAX_CHARACTERS} characters`),
});

const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const memoryIdSchema = z.string().regex(/^mem_[0-9a-f-]{36}$/);

function describeIssue(error: z.ZodError, fallbackField: string): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.join('.') || fallbackField;
  return { field, message: `${field}: ${issue.message}` };
}

function toWire(memory: Memory) {
  return { id: memory.id, tier: memory.tier, content: memory.content, createdAt: memory.createdAt.toISOString() };
}

export function createMemoryRouter(dependencies: MemoryRouteDependencies): Router {
  const { logger } = dependencies;
  const memories = new MemoryRepository(dependencies.pool);
  const router = Router();

  /** Adds a workspace memory; it is searchable by the next turn of any conversation of the workspace. */
  router.post('/memories', async (request: Request, response: Response) => {
    const parsed = newMemorySchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'body');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const principal = principalOf(request);
    const memory = await memories.addWorkspaceMemory(principal.workspaceId, parsed.data.content);
    logger.info({ workspaceId: principal.workspaceId, memoryId: memory.id }, 'workspace memory added');
    response.status(201).json({ memory: toWire(memory) });
  });

  /** The workspace's memories, newest first; `limit` (1–200, default 50) and `offset` page through them. */
  router.get('/memories', async (request: Request, response: Response) => {
    const parsed = pageSchema.safeParse(request.query);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'query');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const principal = principalOf(request);
    const page = await memories.listWorkspaceMemories(principal.workspaceId, parsed.data);
    response.json({ memories: page.map(toWire) });
  });

  /** Deletes a workspace memory: 204, or 404 when the caller's workspace has no memory with that id. */
  router.delete('/memories/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const id = request.params.id;
    const deleted = memoryIdSchema.safeParse(id).success && (await memories.deleteWorkspaceMemory(principal.workspaceId, id));
    if (!deleted) return sendError(response, 404, 'memory_not_found', 'Memory not found.');
    logger.info({ workspaceId: principal.workspaceId, memoryId: id }, 'workspace memory deleted');
    response.status(204).end();
  });

  return router;
}
