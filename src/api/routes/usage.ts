/**
 * Usage reporting: `GET /api/usage` answers the caller's workspace's LLM usage (turns, hops, tokens,
 * cost, latency, BYOK hops) grouped by agent, model and/or UTC day, optionally within
 * `[from, to)`. Only the caller's workspace is ever read; another workspace's usage is invisible.
 */
import { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { USAGE_GROUP_BY, UsageRepository } from '../../db/usage-repository';
import { principalOf } from '../auth';
import { sendError } from '../errors';

export interface UsageRouteDependencies {
  pool: Pool;
}

/** An ISO 8601 timestamp with an offset (`2025-11-20T00:00:00Z`) or a calendar date (UTC midnight). */
const instantSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO 8601 date or timestamp' }).transform((text) => new Date(text));

/** `groupBy=agent,model` (or repeated `groupBy=agent&groupBy=model`); repeats are dropped. */
const groupBySchema = z
  .preprocess((value) => (Array.isArray(value) ? value.join(',') : value), z.string())
  .transform((text) => text.split(',').map((part) => part.trim()))
  .pipe(z.array(z.enum(USAGE_GROUP_BY, { error: `must be a comma-separated list of ${USAGE_GROUP_BY.join(', ')}` })).min(1))
  .transform((dimensions) => [...new Set(dimensions)]);

export const usageQuerySchema = z
  .object({
    from: instantSchema.optional(),
    to: instantSchema.optional(),
    groupBy: groupBySchema.default(['agent', 'model']),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, { message: 'must be after from', path: ['to'] });

export function createUsageRouter(dependencies: UsageRouteDependencies): Router {
  const usage = new UsageRepository(dependencies.pool);
  const router = Router();

  /**
   * The caller's workspace's usage per group. `from` (inclusive) and `to` (exclusive) bound when the
   * hops were recorded; `groupBy` defaults to `agent,model`. Read-only and safe to repeat.
   */
  router.get('/usage', async (request: Request, response: Response) => {
    const parsed = usageQuerySchema.safeParse(request.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = String(issue.path[0] ?? 'query');
      return sendError(response, 400, 'invalid_request', `${field}: ${issue.message}`, field);
    }
    const { workspaceId } = principalOf(request);
    const { from, to, groupBy } = parsed.data;
    const rows = await usage.aggregate(workspaceId, { ...(from ? { from } : {}), ...(to ? { to } : {}), groupBy });
    response.json({ workspaceId, from: from?.toISOString() ?? null, to: to?.toISOString() ?? null, groupBy, rows });
  });

  return router;
}
