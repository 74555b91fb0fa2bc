/**
 * The checks a management write passes before anything is written: each failure is an
 * {@link ApiError} (4xx) naming the field, so a bad request changes nothing.
 *
 * - a connection must belong to the workspace; an agent on a connection names its model;
 * - a model (and each fallback) must be one the connection lists, when its endpoint lists models
 *   (an endpoint that cannot be asked leaves a warning instead);
 * - a tool pattern must be well formed and match at least one tool of the workspace's catalogue;
 * - a skill reference must name an existing skill (and version), and the skills reached through
 *   includes must not form a cycle.
 */
import type { AgentRepository } from '../../agents/agent-repository';
import type { ConnectionRepository } from '../../connections/connection-repository';
import type { ModelCatalog } from '../../connections/model-catalog';
import type { LlmClients } from '../../llm/connection-clients';
import type { SkillRepository } from '../../skills/skill-repository';
import { SYSTEM_CONNECTION_ID, type LlmConnectionReference } from '../../shared/turn';
import { describeSkillProblem, expandSkills, type SkillReference, type SkillVersionRecord } from '../../skills/skill-resolution';
import type { ToolCatalog } from '../../tools/tool-catalog';
import { isToolPattern, matchesToolPattern } from '../../tools/tool-patterns';
import { ApiError } from '../errors';
import type { SkillReferenceInput } from './schemas';

export interface ManagementServices {
  agents: AgentRepository;
  skills: SkillRepository;
  connections: ConnectionRepository;
  tools: ToolCatalog;
  /** Clients for listing models: workspace connections, and the deployment's when it is configured. */
  llmClients: LlmClients;
  models: ModelCatalog;
  /** Whether the deployment's own endpoint can be asked for its models from this process. */
  systemEndpointKnown: boolean;
}

/** Turns skill names and ids into stored references; an unknown skill or version is a 400. */
export async function resolveSkillReferences(services: ManagementServices, workspaceId: string, inputs: readonly SkillReferenceInput[], field: string): Promise<SkillReference[]> {
  const references: SkillReference[] = [];
  for (const [index, input] of inputs.entries()) {
    const name = typeof input === 'string' ? input : input.skill;
    const version = typeof input === 'string' ? null : (input.version ?? null);
    const skill = await services.skills.find(workspaceId, name);
    if (!skill) throw new ApiError(400, 'unknown_skill', `${field}.${index}: no skill "${name}" in this workspace`, `${field}.${index}`);
    if (version !== null && version > skill.currentVersion) {
      throw new ApiError(400, 'unknown_skill_version', `${field}.${index}: skill "${skill.name}" has no version ${version} (current: ${skill.currentVersion})`, `${field}.${index}`);
    }
    references.push({ skillId: skill.id, version });
  }
  return references;
}

/** Refuses a skill graph with a missing reference or a cycle, naming the root reference at fault. */
export async function checkSkillGraph(
  services: ManagementServices,
  workspaceId: string,
  roots: readonly SkillReference[],
  field: string,
  overrides?: ReadonlyMap<string, SkillVersionRecord>,
): Promise<void> {
  const lookup = await services.skills.loadClosure(workspaceId, roots, overrides);
  const expansion = expandSkills(roots, lookup);
  if (expansion.ok) return;
  const at = `${field}.${expansion.rootIndex}`;
  const code = expansion.problem.kind === 'cycle' ? 'circular_skill_reference' : 'unknown_skill';
  throw new ApiError(400, code, `${at}: ${describeSkillProblem(expansion.problem)}`, at);
}

/** Refuses a malformed pattern, or one that matches no tool the workspace has. */
export async function checkToolPatterns(services: ManagementServices, workspaceId: string, patterns: readonly string[], field: string): Promise<void> {
  if (patterns.length === 0) return;
  const candidates = await services.tools.candidates(workspaceId);
  for (const [index, pattern] of patterns.entries()) {
    const at = `${field}.${index}`;
    if (!isToolPattern(pattern)) throw new ApiError(400, 'invalid_request', `${at}: must be a tool name or a prefix followed by *`, at);
    if (!candidates.some((candidate) => candidate.name === pattern || matchesToolPattern(candidate.name, pattern))) {
      throw new ApiError(400, 'unknown_tool', `${at}: "${pattern}" matches no tool`, at);
    }
  }
}

/**
 * Checks an agent's connection, model and fallbacks together. Returns warnings for checks the
 * endpoint did not allow (no model list, unreachable).
 */
export async function checkConnectionAndModels(
  services: ManagementServices,
  workspaceId: string,
  values: { connectionId: string | null; model: string | null; fallbackModels: string[] },
): Promise<string[]> {
  if (values.model !== null && values.fallbackModels.includes(values.model)) {
    const index = values.fallbackModels.indexOf(values.model);
    throw new ApiError(400, 'invalid_request', `fallbackModels.${index}: repeats the agent's model`, `fallbackModels.${index}`);
  }
  const duplicate = values.fallbackModels.findIndex((model, index) => values.fallbackModels.indexOf(model) !== index);
  if (duplicate >= 0) throw new ApiError(400, 'invalid_request', `fallbackModels.${duplicate}: appears twice`, `fallbackModels.${duplicate}`);

  let listingKey: string | undefined;
  let reference: LlmConnectionReference | undefined;
  if (values.connectionId !== null) {
    const connection = await services.connections.get(workspaceId, values.connectionId);
    if (!connection) throw new ApiError(400, 'unknown_connection', `connectionId: no connection "${values.connectionId}" in this workspace`, 'connectionId');
    if (values.model === null) throw new ApiError(400, 'invalid_request', 'model: an agent on a connection must name its model', 'model');
    listingKey = `${connection.id}:${connection.version}`;
    reference = { id: connection.id, version: connection.version, name: connection.name, provider: connection.provider, byok: true };
  } else if (services.systemEndpointKnown) {
    listingKey = SYSTEM_CONNECTION_ID;
  }
  const named = [
    ...(values.model !== null ? [{ model: values.model, field: 'model' }] : []),
    ...values.fallbackModels.map((model, index) => ({ model, field: `fallbackModels.${index}` })),
  ];
  if (named.length === 0 || !listingKey) return [];
  let client;
  try {
    client = await services.llmClients.clientFor(workspaceId, reference);
  } catch {
    return ["Models were not checked: the connection's key cannot be opened by this server (SECRETS_ENCRYPTION_KEYS)."];
  }
  const listing = await services.models.modelsOf(listingKey, client);
  if (!listing.listed) return [`Models were not checked: ${listing.reason}.`];
  for (const { model, field } of named) {
    if (!listing.models.includes(model)) {
      throw new ApiError(400, 'model_not_listed', `${field}: the connection's endpoint does not list the model "${model}"`, field, { availableModels: listing.models.slice(0, 100) });
    }
  }
  return [];
}
