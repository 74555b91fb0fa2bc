/**
 * Agents: `GET/POST /api/agents`, `GET/PATCH/DELETE /api/agents/:id`.
 *
 * An agent chooses its LLM connection and model (plus fallback models), its persona, the tools it may
 * use, the skills it includes and its limits. Any key may read agents (a chat app lists them to pick
 * one); only admins change them. A change applies from the next turn: a running turn keeps the
 * configuration it was activated with, which is recorded in its history.
 */
import { Router } from 'express';
import { z } from 'zod';
import { AGENT_DEFAULTS, DuplicateAgentNameError, type AgentRecord, type AgentValues } from '../../agents/agent-repository';
import type { SkillReference } from '../../skills/skill-resolution';
import { ApiError } from '../errors';
import { checkConnectionAndModels, checkSkillGraph, checkToolPatterns, resolveSkillReferences, type ManagementServices } from '../management/validation';
import {
  displayName,
  idParams,
  modelName,
  pageOf,
  pageQuery,
  skillReferenceInput,
  skillReferenceOutput,
  spendCapSettings,
  timestamp,
  toolPattern,
  warnings,
} from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';
import { BUSY_POLICIES, DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../../shared/turn-control';

const toolApprovalSettings = z.strictObject({
  tools: z.array(toolPattern).min(1).max(64).describe('Tool patterns (`name` or `prefix*`) whose calls need approval.'),
  timeoutSeconds: z.number().int().min(5).max(7 * 24 * 3600).default(DEFAULT_APPROVAL_TIMEOUT_SECONDS).describe('How long a turn waits for an answer; then the call is denied.'),
});

const agentFields = {
  name: displayName,
  description: z.string().max(2000),
  isDefault: z.boolean().describe('The agent chats use when they name none; making one the default moves it.'),
  connectionId: z.string().min(1).max(200).nullable().describe("An LLM connection of the workspace; null: the deployment's own endpoint."),
  model: modelName.nullable().describe("The model; null: the deployment's DEFAULT_MODEL (only without a connection)."),
  fallbackModels: z.array(modelName).max(5).describe('Models to try in order when the model fails, on the same connection.'),
  systemPrompt: z.string().max(20_000).describe('The persona; skill instructions are appended after it.'),
  temperature: z.number().min(0).max(2).nullable(),
  allowedTools: z.array(toolPattern).max(64).describe("Tools the agent may use (its skills' tools are added)."),
  skills: z.array(skillReferenceInput).max(20).describe('Skills to include, in merge order.'),
  maxHops: z.number().int().min(1).max(50).describe('Most tool rounds per turn; when the model still wants tools after them, they are not run and the turn ends with a warning.'),
  maxTools: z.number().int().min(1).max(128).nullable().describe("Most tools offered per turn; null: TOOL_SELECTION_MAX_TOOLS."),
  contextWindow: z.number().int().min(1024).max(10_000_000).describe("The model's context window in tokens (the context guard condenses at 85%)."),
  memoryEnabled: z.boolean(),
  llmMaxAttempts: z.number().int().min(1).max(20).describe('Attempts of an LLM hop on each model (failed and lost attempts alike) before its fallback model, if any.'),
  llmInitialRetryIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(60_000)
    .describe("Wait before retrying a hop that failed (a provider error, a broken stream), doubled for each attempt up to 30 s; a provider's retry-after wins. A hop lost with its worker restarts after 100 ms."),
  spendCaps: spendCapSettings.describe("Caps per turn and per UTC day for this agent; a missing key falls back to the deployment's default (SPEND_CAP_*)."),
  toolApproval: toolApprovalSettings
    .nullable()
    .describe('Tools whose calls wait for the user\'s approval (`tool-approval-request` in the stream), and how long a turn waits before the call is denied; null: none.'),
  busyPolicy: z
    .enum(BUSY_POLICIES)
    .describe('A user message sent while a turn of the conversation runs: `queue` (starts when the running turn ends), `interrupt` (stops the running turn, keeping its partial answer) or `reject` (409 with the running turn\'s id).'),
};

const createAgentBody = z.strictObject(agentFields).partial().required({ name: true });

const updateAgentBody = z
  .strictObject(agentFields)
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');

const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  isDefault: z.boolean(),
  connectionId: z.string().nullable(),
  model: z.string().nullable(),
  fallbackModels: z.array(z.string()),
  systemPrompt: z.string(),
  temperature: z.number().nullable(),
  allowedTools: z.array(z.string()),
  skills: z.array(skillReferenceOutput),
  maxHops: z.number().int(),
  maxTools: z.number().int().nullable(),
  contextWindow: z.number().int(),
  memoryEnabled: z.boolean(),
  llmMaxAttempts: z.number().int(),
  llmInitialRetryIntervalMs: z.number().int(),
  spendCaps: spendCapSettings,
  toolApproval: z.object({ tools: z.array(z.string()), timeoutSeconds: z.number().int() }).nullable(),
  busyPolicy: z.enum(BUSY_POLICIES),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const agentReply = z.object({ agent: agentSchema, warnings });

function agentNotFound(id: string): ApiError {
  return new ApiError(404, 'agent_not_found', `id: no agent "${id}" in this workspace`, 'id');
}

export function createAgentRouter(services: ManagementServices, document: ApiDocument): Router {
  const router = Router();
  const tags = ['Agents'];

  async function skillNames(workspaceId: string, references: readonly SkillReference[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const reference of references) {
      if (names.has(reference.skillId)) continue;
      const skill = await services.skills.find(workspaceId, reference.skillId);
      names.set(reference.skillId, skill?.name ?? reference.skillId);
    }
    return names;
  }

  async function toWire(agent: AgentRecord) {
    const names = await skillNames(agent.workspaceId, agent.skills);
    return {
      id: agent.id,
      name: agent.name,
      description: agent.description,
      isDefault: agent.isDefault,
      connectionId: agent.connectionId,
      model: agent.model,
      fallbackModels: agent.fallbackModels,
      systemPrompt: agent.systemPrompt,
      temperature: agent.temperature,
      allowedTools: agent.allowedTools,
      skills: agent.skills.map((reference) => ({ id: reference.skillId, name: names.get(reference.skillId)!, version: reference.version })),
      maxHops: agent.maxHops,
      maxTools: agent.maxTools,
      contextWindow: agent.contextWindow,
      memoryEnabled: agent.memoryEnabled,
      llmMaxAttempts: agent.llmMaxAttempts,
      llmInitialRetryIntervalMs: agent.llmInitialRetryIntervalMs,
      spendCaps: agent.spendCaps,
      toolApproval: agent.toolApproval,
      busyPolicy: agent.busyPolicy,
      createdAt: agent.createdAt.toISOString(),
      updatedAt: agent.updatedAt.toISOString(),
    };
  }

  /** Checks what changed (or everything, for a new agent); returns the warnings of the checks. */
  async function validate(workspaceId: string, values: AgentValues, changed: (field: keyof AgentValues) => boolean): Promise<string[]> {
    if (changed('allowedTools')) await checkToolPatterns(services, workspaceId, values.allowedTools, 'allowedTools');
    if (changed('toolApproval') && values.toolApproval) await checkToolPatterns(services, workspaceId, values.toolApproval.tools, 'toolApproval.tools');
    if (changed('skills')) await checkSkillGraph(services, workspaceId, values.skills, 'skills');
    if (changed('connectionId') || changed('model') || changed('fallbackModels')) return checkConnectionAndModels(services, workspaceId, values);
    return [];
  }

  /** The write's result, with a taken name turned into a 409 naming the field. */
  async function saved(name: string, write: Promise<AgentRecord | undefined>): Promise<AgentRecord | undefined> {
    try {
      return await write;
    } catch (error) {
      if (error instanceof DuplicateAgentNameError) throw new ApiError(409, 'duplicate_name', `name: this workspace already has an agent named "${name}"`, 'name');
      throw error;
    }
  }

  defineRoute(
    router,
    document,
    { method: 'get', path: '/agents', summary: 'List agents', description: 'The workspace\'s agents by name, a page at a time. Any key may read them.', tags, query: pageQuery(2), responses: { 200: { description: 'A page of agents.', schema: pageOf(agentSchema) } } },
    async ({ principal, query }) => {
      const page = await services.agents.list(principal.workspaceId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { data: await Promise.all(page.data.map(toWire)), nextCursor: page.nextCursor } };
    },
  );

  defineRoute(
    router,
    document,
    { method: 'get', path: '/agents/:id', summary: 'Read an agent', tags, params: idParams, responses: { 200: { description: 'The agent.', schema: z.object({ agent: agentSchema }) }, 404: { description: 'No such agent in this workspace.' } } },
    async ({ principal, params }) => {
      const agent = await services.agents.get(principal.workspaceId, params.id);
      if (!agent) throw agentNotFound(params.id);
      return { status: 200, body: { agent: await toWire(agent) } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/agents',
      summary: 'Create an agent',
      description:
        'Checks before writing: the connection belongs to the workspace; the model and fallbacks are listed by the endpoint (when it lists models); every tool pattern matches a tool; skills exist and include no cycle; the name is free.',
      tags,
      access: 'admin',
      body: createAgentBody,
      responses: { 201: { description: 'The agent, and warnings for checks that could not be made.', schema: agentReply }, 409: { description: 'The name is taken.' } },
    },
    async ({ principal, body }) => {
      const { skills: skillInputs, ...fields } = body;
      const skills = await resolveSkillReferences(services, principal.workspaceId, skillInputs ?? [], 'skills');
      const values: AgentValues = { ...AGENT_DEFAULTS, ...fields, skills };
      const notes = await validate(principal.workspaceId, values, () => true);
      const agent = (await saved(values.name, services.agents.create(principal.workspaceId, values)))!;
      return { status: 201, body: { agent: await toWire(agent), warnings: notes } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'patch',
      path: '/agents/:id',
      summary: 'Change an agent',
      description: 'Changes the fields given and checks them as on creation. Applies from the next turn; running turns keep their configuration.',
      tags,
      access: 'admin',
      params: idParams,
      body: updateAgentBody,
      responses: {
        200: { description: 'The changed agent.', schema: agentReply },
        404: { description: 'No such agent in this workspace.' },
        409: { description: 'The name is taken, or the change would leave the workspace without a default agent.' },
      },
    },
    async ({ principal, params, body }) => {
      const existing = await services.agents.get(principal.workspaceId, params.id);
      if (!existing) throw agentNotFound(params.id);
      if (body.isDefault === false && existing.isDefault) {
        throw new ApiError(409, 'default_agent_required', 'isDefault: make another agent the default instead; a workspace always has one', 'isDefault');
      }
      const { skills: skillInputs, ...fields } = body;
      const skills = skillInputs ? await resolveSkillReferences(services, principal.workspaceId, skillInputs, 'skills') : existing.skills;
      const { id: _id, workspaceId: _workspaceId, createdAt: _createdAt, updatedAt: _updatedAt, ...current } = existing;
      const values: AgentValues = { ...current, ...fields, skills };
      const notes = await validate(principal.workspaceId, values, (field) => field in body);
      const agent = await saved(values.name, services.agents.update(principal.workspaceId, params.id, values));
      if (!agent) throw agentNotFound(params.id);
      return { status: 200, body: { agent: await toWire(agent), warnings: notes } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'delete',
      path: '/agents/:id',
      summary: 'Delete an agent',
      description: 'Its conversations stay; they continue with the default agent. The default agent cannot be deleted.',
      tags,
      access: 'admin',
      params: idParams,
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such agent in this workspace.' }, 409: { description: 'The agent is the default agent.' } },
    },
    async ({ principal, params }) => {
      const existing = await services.agents.get(principal.workspaceId, params.id);
      if (!existing) throw agentNotFound(params.id);
      if (existing.isDefault) throw new ApiError(409, 'default_agent', 'id: the default agent cannot be deleted; make another agent the default first', 'id');
      await services.agents.delete(principal.workspaceId, params.id);
      return { status: 204 };
    },
  );

  return router;
}
