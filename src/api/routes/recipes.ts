/**
 * Recipes: `GET/POST /api/recipes`, `GET/DELETE /api/recipes/:id` (writes: admin keys), and runs:
 * `POST /api/recipes/:id/runs` starts the `recipeRun` workflow and answers with its stream;
 * `GET /api/recipes/runs/:runId/stream` resumes it (from the start, or after `Last-Event-ID`) and
 * `POST /api/recipes/runs/:runId/stop` stops it, as for chat (a member key only its own runs; another's
 * answers as a run that does not exist). The stream is the chat bridge's: the
 * same protocols (UI message stream, or v4 data stream), each stage a step with `data-stage` parts.
 *
 * A definition is checked before it is stored; a bad stage gets a 400 naming it (`stages.1.prompt`):
 * a duplicate name, a template that reads a stage that does not run before it, an action no MCP
 * server of the workspace lists, an agent that does not exist.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AgentRepository } from '../../agents/agent-repository';
import type { McpServerRepository } from '../../mcp/mcp-server-repository';
import { DuplicateRecipeNameError, type RecipeRecord, type RecipeRepository } from '../../recipes/recipe-repository';
import { checkRecipeStages, type RecipeStage } from '../../shared/recipe';
import type { recipeRun } from '../../workflows/recipe-run';
import { principalOf, seesWholeWorkspace } from '../auth';
import type { Principal } from '../../db/workspace-repository';
import { ApiError, sendError } from '../errors';
import { idParams, timestamp } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';
import { pipeTurnStream, type TurnStreamDependencies } from '../sse/turn-stream';
import { isModernClient, lastEventId, requestedProtocol } from './chat';

export interface RecipeRouterDependencies {
  recipes: RecipeRepository;
  servers: McpServerRepository;
  agents: AgentRepository;
  temporal: Client;
  taskQueue: string;
  stream: TurnStreamDependencies;
}

const stageName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be lower snake case, at most 40 characters');
const stageSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: stageName,
    kind: z.literal('prompt'),
    prompt: z.string().min(1).max(20_000).describe('A template: {{input.<key>}}, {{stages.<earlier stage>}}.'),
    agentId: z.string().min(1).max(200).optional().describe("The agent that answers (default: the workspace's default agent)."),
  }),
  z.strictObject({
    name: stageName,
    kind: z.literal('action'),
    action: z.string().regex(/^APP_[A-Z0-9_]{1,124}$/, 'must name an app action (APP_<SERVER>_<ACTION>)'),
    arguments: z.record(z.string(), z.unknown()).default({}).describe('Its arguments; strings are templates.'),
  }),
]);

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(2000).optional(),
  stages: z.array(stageSchema).min(1, 'must hold at least one stage').max(20, 'may hold at most 20 stages'),
});

const recipeSchema = z.object({ id: z.string(), name: z.string(), description: z.string(), stages: z.array(z.record(z.string(), z.unknown())), createdAt: timestamp, updatedAt: timestamp });

const runBody = z.strictObject({ input: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.string().max(20_000)).default({}) });

function toWire(recipe: RecipeRecord) {
  return { id: recipe.id, name: recipe.name, description: recipe.description, stages: recipe.stages, createdAt: recipe.createdAt.toISOString(), updatedAt: recipe.updatedAt.toISOString() };
}

export function recipeRunWorkflowId(workspaceId: string, runId: string): string {
  return `recipe:${workspaceId}/${runId}`;
}

function runMessageId(runId: string): string {
  return `${runId}~assistant`;
}

export function createRecipeRouter(dependencies: RecipeRouterDependencies, document: ApiDocument): Router {
  const { recipes, servers, agents, temporal, taskQueue } = dependencies;
  const router = Router();
  const tags = ['Recipes'];

  /** The run, if the caller may see it: admins see every run of the workspace, members their own. */
  async function visibleRun(principal: Principal, runId: string) {
    const run = await recipes.getRun(principal.workspaceId, runId);
    return run && (seesWholeWorkspace(principal) || run.userId === principal.userId) ? run : undefined;
  }

  async function checkStages(workspaceId: string, stages: RecipeStage[]): Promise<void> {
    const problem = checkRecipeStages(stages);
    if (problem) throw new ApiError(400, 'invalid_stage', `${problem.field}: ${problem.message}`, problem.field);
    for (const [index, stage] of stages.entries()) {
      if (stage.kind === 'action' && !(await servers.actionByToolName(workspaceId, stage.action))) {
        throw new ApiError(400, 'invalid_stage', `stages.${index}.action: stage ${index} ("${stage.name}") names "${stage.action}", which no MCP server of this workspace lists`, `stages.${index}.action`);
      }
      if (stage.kind === 'prompt' && stage.agentId && !(await agents.find(workspaceId, stage.agentId))) {
        throw new ApiError(400, 'invalid_stage', `stages.${index}.agentId: stage ${index} ("${stage.name}") names the agent "${stage.agentId}", which does not exist`, `stages.${index}.agentId`);
      }
    }
  }

  defineRoute(router, document, { method: 'get', path: '/recipes', summary: 'List recipes', tags, responses: { 200: { description: 'The recipes.', schema: z.object({ data: z.array(recipeSchema) }) } } }, async ({ principal }) => ({
    status: 200,
    body: { data: (await recipes.list(principal.workspaceId)).map(toWire) },
  }));

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/recipes',
      summary: 'Define a recipe',
      description: 'Ordered stages: `prompt` (an agent answers a templated prompt) or `action` (an app action with templated arguments). A bad stage gets a 400 naming it.',
      tags,
      access: 'admin',
      body: createBody,
      responses: { 201: { description: 'The recipe.', schema: z.object({ recipe: recipeSchema }) }, 400: { description: 'A bad stage, named.' }, 409: { description: 'The name is taken.' } },
    },
    async ({ principal, body }) => {
      const stages = body.stages as RecipeStage[];
      await checkStages(principal.workspaceId, stages);
      try {
        const recipe = await recipes.create(principal.workspaceId, { name: body.name, ...(body.description !== undefined ? { description: body.description } : {}), stages });
        return { status: 201, body: { recipe: toWire(recipe) } };
      } catch (error) {
        if (error instanceof DuplicateRecipeNameError) throw new ApiError(409, 'duplicate_name', `name: this workspace already has a recipe named "${body.name}"`, 'name');
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    { method: 'get', path: '/recipes/:id', summary: 'Read a recipe', tags, params: idParams, responses: { 200: { description: 'The recipe.', schema: z.object({ recipe: recipeSchema }) }, 404: { description: 'No such recipe.' } } },
    async ({ principal, params }) => {
      const recipe = await recipes.get(principal.workspaceId, params.id);
      if (!recipe) throw new ApiError(404, 'recipe_not_found', `id: no recipe "${params.id}" in this workspace`, 'id');
      return { status: 200, body: { recipe: toWire(recipe) } };
    },
  );

  defineRoute(
    router,
    document,
    { method: 'delete', path: '/recipes/:id', summary: 'Delete a recipe', tags, access: 'admin', params: idParams, responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such recipe.' } } },
    async ({ principal, params }) => {
      if (!(await recipes.delete(principal.workspaceId, params.id))) throw new ApiError(404, 'recipe_not_found', `id: no recipe "${params.id}" in this workspace`, 'id');
      return { status: 204 };
    },
  );

  const streamResponses = { 200: { description: 'The run as a stream: UI message stream (default) or v4 data stream.', contentType: 'text/event-stream' } };
  document.register({
    method: 'post',
    path: '/recipes/:id/runs',
    summary: 'Run a recipe',
    description: 'Starts the `recipeRun` workflow and answers with its stream: each stage is a step, with a `data-stage` part when it starts and ends. The run goes on if the client disconnects; resume it with the stream route.',
    tags,
    params: idParams,
    body: runBody,
    responses: { ...streamResponses, 404: { description: 'No such recipe.' } },
  });
  router.post('/recipes/:id/runs', async (request: Request<{ id: string }>, response: Response, next) => {
    try {
      const principal = principalOf(request);
      const parsed = runBody.safeParse(request.body ?? {});
      if (!parsed.success) return sendError(response, 400, 'invalid_request', `input: ${parsed.error.issues[0]!.message}`, 'input');
      const recipe = await recipes.get(principal.workspaceId, request.params.id);
      if (!recipe) return sendError(response, 404, 'recipe_not_found', `id: no recipe "${request.params.id}" in this workspace`, 'id');
      const runId = `run_${randomUUID()}`;
      const runWorkflowId = recipeRunWorkflowId(principal.workspaceId, runId);
      await recipes.addRun({ id: runId, recipeId: recipe.id, workspaceId: principal.workspaceId, userId: principal.userId, workflowId: runWorkflowId });
      await temporal.workflow.start<typeof recipeRun>('recipeRun', {
        taskQueue,
        workflowId: runWorkflowId,
        args: [{ runWorkflowId, workspaceId: principal.workspaceId, stages: recipe.stages, input: parsed.data.input }],
      });
      response.setHeader('x-recipe-run-id', runId);
      await pipeTurnStream(request, response, { turnId: runWorkflowId, messageId: runMessageId(runId), modernClient: isModernClient(request), protocol: requestedProtocol(request) }, dependencies.stream);
    } catch (error) {
      next(error);
    }
  });

  const runParams = z.object({ runId: z.string().min(1).max(200) });
  document.register({
    method: 'get',
    path: '/recipes/runs/:runId/stream',
    summary: "Resume a recipe run's stream",
    description: 'From the start, or after `Last-Event-ID`, then live. 204 when the run is unknown or its log expired.',
    tags,
    params: runParams,
    responses: { ...streamResponses, 204: { description: 'No such run, or its log expired.' } },
  });
  router.get('/recipes/runs/:runId/stream', async (request: Request<{ runId: string }>, response: Response, next) => {
    try {
      const run = await visibleRun(principalOf(request), request.params.runId);
      const after = lastEventId(request);
      if (!after.ok) return sendError(response, 400, 'invalid_request', 'Last-Event-ID: must be an event id the stream sent', 'Last-Event-ID');
      if (!run || !(await dependencies.stream.eventLog.exists(run.workflowId))) return response.status(204).end();
      await pipeTurnStream(
        request,
        response,
        { turnId: run.workflowId, messageId: runMessageId(run.id), modernClient: isModernClient(request), protocol: requestedProtocol(request), ...(after.id ? { afterId: after.id } : {}) },
        dependencies.stream,
      );
    } catch (error) {
      next(error);
    }
  });

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/recipes/runs/:runId/stop',
      summary: 'Stop a recipe run',
      description: 'The stage in progress ends `cancelled` and the stream finishes with finish reason `cancelled`.',
      tags,
      params: runParams,
      responses: { 200: { description: 'Whether a running run was stopped.', schema: z.object({ stopped: z.boolean() }) } },
    },
    async ({ principal, params }) => {
      const run = await visibleRun(principal, params.runId);
      if (!run) return { status: 200, body: { stopped: false } };
      const handle = temporal.workflow.getHandle(run.workflowId);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return { status: 200, body: { stopped: false } };
      await handle.cancel();
      return { status: 200, body: { stopped: true } };
    },
  );

  return router;
}
