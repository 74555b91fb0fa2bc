/**
 * The caller's workspace: `GET /api/workspace` (any key) shows its spend caps and what it spent today;
 * `PATCH /api/workspace` (admin keys) sets its daily caps. Caps are enforced by the turn workflow at
 * hop boundaries; a change applies from the next turn.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Configuration } from '../../config';
import type { UsageRepository } from '../../db/usage-repository';
import type { WorkspaceRepository } from '../../db/workspace-repository';
import { startOfUtcDay } from '../../agents/agent-activation';
import { ApiError } from '../errors';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

const dailyCaps = z.strictObject({
  dailyUsd: z.number().positive().max(1_000_000).optional(),
  dailyTokens: z.number().int().positive().max(1_000_000_000_000).optional(),
});

const workspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  spendCaps: dailyCaps.describe("The workspace's own daily caps; missing keys fall back to the deployment's (`effectiveSpendCaps`)."),
  effectiveSpendCaps: dailyCaps,
  spentToday: z.object({ usd: z.number(), tokens: z.number() }).describe('Every attempt of every model call since 00:00 UTC.'),
});

export function createWorkspaceRouter(
  dependencies: { workspaces: WorkspaceRepository; usage: UsageRepository; spendCaps: Configuration['spendCaps'] },
  document: ApiDocument,
): Router {
  const router = Router();
  const tags = ['Workspace'];

  async function describe(workspaceId: string) {
    const settings = await dependencies.workspaces.settings(workspaceId);
    if (!settings) throw new ApiError(404, 'workspace_not_found', 'Workspace not found.');
    const spent = await dependencies.usage.spentSince(workspaceId, '', startOfUtcDay(new Date()));
    const defaults = dependencies.spendCaps.defaults;
    const own = { ...(settings.spendCaps.dailyUsd !== undefined ? { dailyUsd: settings.spendCaps.dailyUsd } : {}), ...(settings.spendCaps.dailyTokens !== undefined ? { dailyTokens: settings.spendCaps.dailyTokens } : {}) };
    const effectiveUsd = own.dailyUsd ?? defaults.workspaceDailyUsd;
    const effectiveTokens = own.dailyTokens ?? defaults.workspaceDailyTokens;
    return {
      id: settings.id,
      name: settings.name,
      spendCaps: own,
      effectiveSpendCaps: { ...(effectiveUsd !== undefined ? { dailyUsd: effectiveUsd } : {}), ...(effectiveTokens !== undefined ? { dailyTokens: effectiveTokens } : {}) },
      spentToday: spent.workspace,
    };
  }

  defineRoute(
    router,
    document,
    { method: 'get', path: '/workspace', summary: 'The workspace, its spend caps and spend today', tags, responses: { 200: { description: 'The workspace.', schema: z.object({ workspace: workspaceSchema }) } } },
    async ({ principal }) => ({ status: 200, body: { workspace: await describe(principal.workspaceId) } }),
  );

  defineRoute(
    router,
    document,
    {
      method: 'patch',
      path: '/workspace',
      summary: "Set the workspace's daily spend caps",
      description: 'Replaces the daily caps (an empty object removes them: the deployment defaults apply). Enforced from the next turn.',
      tags,
      access: 'admin',
      body: z.strictObject({ spendCaps: dailyCaps }),
      responses: { 200: { description: 'The workspace.', schema: z.object({ workspace: workspaceSchema }) } },
    },
    async ({ principal, body }) => {
      await dependencies.workspaces.setSpendCaps(principal.workspaceId, body.spendCaps);
      return { status: 200, body: { workspace: await describe(principal.workspaceId) } };
    },
  );

  return router;
}
