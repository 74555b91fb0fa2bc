/**
 * Agent activation (the seed's `AgentFactory.activate_agent()`): everything a turn needs of its agent,
 * resolved once at the start of the turn and returned to the workflow, which records it in history.
 *
 * - The LLM: the agent's connection (its current version) and model, plus fallback models; or the
 *   deployment's endpoint and `DEFAULT_MODEL` for agents without a connection and for `useSystemLlm`.
 *   Only ids, names and the version travel: the LLM activity opens the key itself.
 * - Skills: expanded and merged into the persona and tool settings (src/skills/skill-resolution.ts for
 *   the order), each with the version used.
 * - Tools: the selection for this turn's message (src/tools/tool-selection.ts), capped by the agent's
 *   `maxTools` or the deployment's default.
 *
 * Because the result is recorded, a turn keeps this configuration to its end: a change to the agent,
 * a skill or a connection applies from the next turn.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { AgentRecord, AgentRepository } from './agent-repository';
import type { ConnectionRepository } from '../connections/connection-repository';
import type { SkillRepository } from '../skills/skill-repository';
import { describeSkillProblem, expandSkills, mergeSkills } from '../skills/skill-resolution';
import { SYSTEM_CONNECTION_ID, type AgentConfiguration, type LlmConnectionReference } from '../shared/turn';
import type { ToolCatalog } from '../tools/tool-catalog';
import { selectTools, type ToolCandidate } from '../tools/tool-selection';
import { resolveAppActions } from '../tools/app-action-resolution';
import { isAppTool } from '../mcp/action-names';
import { matchesToolPattern } from '../tools/tool-patterns';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS, type ToolApprovalSettings, type TurnApproval } from '../shared/turn-control';
import type { PricingRepository } from '../db/pricing-repository';
import type { UsageRepository } from '../db/usage-repository';
import type { WorkspaceRepository } from '../db/workspace-repository';
import { LLM_RESTART_INTERVAL_MS } from '../shared/policy';
import { capsOf, type ModelPrice, type SpendCapDefaults, type TurnBudget } from '../shared/spend-caps';

export interface AgentActivationDependencies {
  agents: AgentRepository;
  skills: SkillRepository;
  connections: ConnectionRepository;
  tools: ToolCatalog;
  /** The deployment's `DEFAULT_MODEL`. */
  defaultModel: string;
  /** The deployment's provider name (`LLM_PROVIDER`). */
  systemProvider: string;
  /** The deployment's cap on tools per turn (`TOOL_SELECTION_MAX_TOOLS`). */
  maxTools: number;
  /** Where the turn's spend caps come from; absent: no caps. */
  budget?: {
    usage: UsageRepository;
    pricing: PricingRepository;
    workspaces: WorkspaceRepository;
    defaults: SpendCapDefaults;
    warningRatio: number;
  };
}

/** The start of the UTC day of `now`: daily caps count from there. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export interface AgentActivationRequest {
  workspaceId: string;
  agentId?: string;
  useSystemLlm?: boolean;
  /** The user's message, for tool selection. Absent: every allowed tool is offered, up to the cap. */
  userText?: string;
  /** The fast path offers no tools. */
  fastPath?: boolean;
  /** The request's tool hints, offered before the skills' hints. */
  toolHints?: string[];
}

/**
 * The exact tool names whose calls wait for approval in a turn (workflow code cannot match patterns):
 * those the agent's patterns cover, and the tools (or app actions) that always ask. Undefined: none.
 */
export function approvalToolNames(candidates: readonly ToolCandidate[], settings: ToolApprovalSettings | null): TurnApproval | undefined {
  const toolNames = candidates
    .filter((candidate) => candidate.requiresApproval === true || (settings?.tools.some((pattern) => matchesToolPattern(candidate.name, pattern)) ?? false))
    .map((candidate) => candidate.name);
  return toolNames.length > 0 ? { toolNames, timeoutSeconds: settings?.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS } : undefined;
}

export function systemConnection(provider: string): LlmConnectionReference {
  return { id: SYSTEM_CONNECTION_ID, version: 0, name: 'deployment', provider, byok: false };
}

/**
 * Told the agent's record as soon as it is read, before the rest of the activation: a caller can
 * start work that depends only on the record (memory retrieval, when the agent has memory) while
 * skills, connection, budget and tools are still being read.
 */
export interface ActivationObserver {
  found(agent: AgentRecord): void;
}

export function createAgentActivator(dependencies: AgentActivationDependencies) {
  async function connectionOf(agent: AgentRecord, useSystemLlm: boolean): Promise<LlmConnectionReference> {
    if (useSystemLlm || agent.connectionId === null) return systemConnection(dependencies.systemProvider);
    const connection = await dependencies.connections.get(agent.workspaceId, agent.connectionId);
    if (!connection) throw ApplicationFailure.nonRetryable(`Agent ${agent.id} names LLM connection ${agent.connectionId}, which does not exist`, 'AgentConfigurationInvalid');
    return { id: connection.id, version: connection.version, name: connection.name, provider: connection.provider, byok: true };
  }

  /**
   * The turn's spend caps, what their scopes spent today before it, and the prices of its models:
   * recorded with the activation, so the workflow meters the turn deterministically.
   */
  async function budgetOf(agent: AgentRecord, models: string[]): Promise<TurnBudget | undefined> {
    const budget = dependencies.budget;
    if (!budget) return undefined;
    const [workspace, spent, priceList] = await Promise.all([
      budget.workspaces.settings(agent.workspaceId),
      budget.usage.spentSince(agent.workspaceId, agent.id, startOfUtcDay(new Date())),
      budget.pricing.list(agent.workspaceId),
    ]);
    const caps = capsOf(agent.spendCaps, workspace?.spendCaps ?? {}, budget.defaults, spent);
    if (caps.length === 0) return undefined;
    const prices: Record<string, ModelPrice> = {};
    for (const price of priceList) {
      if (models.includes(price.model)) prices[price.model] = { inputUsdPerMillion: price.inputUsdPerMillion, outputUsdPerMillion: price.outputUsdPerMillion };
    }
    return { caps, prices, warningRatio: budget.warningRatio };
  }

  /** Resolves the turn's agent configuration; see the module comment. */
  async function activate(request: AgentActivationRequest, observer?: ActivationObserver): Promise<AgentConfiguration> {
    const agent = await dependencies.agents.find(request.workspaceId, request.agentId);
    if (!agent) throw ApplicationFailure.nonRetryable(`Agent ${request.agentId ?? '(default)'} not found in workspace`, 'AgentNotFound');
    observer?.found(agent);
    const useSystemLlm = request.useSystemLlm === true;
    const model = useSystemLlm || agent.model === null ? dependencies.defaultModel : agent.model;
    const fallbackModels = useSystemLlm ? [] : agent.fallbackModels;

    // The reads below do not depend on each other: side by side, the activation (on the path to the
    // first token) takes the longest of them, not their sum. Failures are reported in the order the
    // configuration is checked: skills, then the connection.
    const [lookup, connectionRead, budget, candidates] = await Promise.all([
      dependencies.skills.loadClosure(agent.workspaceId, agent.skills),
      connectionOf(agent, useSystemLlm).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      budgetOf(agent, [model, ...fallbackModels]),
      dependencies.tools.candidates(agent.workspaceId),
    ]);
    const expansion = expandSkills(agent.skills, lookup);
    if (!expansion.ok) throw ApplicationFailure.nonRetryable(`Agent ${agent.id}: ${describeSkillProblem(expansion.problem)}`, 'AgentConfigurationInvalid');
    const merged = mergeSkills(agent, expansion.skills);
    if ('error' in connectionRead) throw connectionRead.error;
    const connection = connectionRead.value;
    const hints = [...(request.toolHints ?? []), ...merged.toolHints];
    // Built-in tools and app actions are chosen apart: app actions have their own tiers
    // (src/tools/app-action-resolution.ts) and their own cap, so a large catalogue never crowds out
    // the built-in tools.
    const toolSelection = selectTools({
      candidates: candidates.filter((candidate) => !isAppTool(candidate.name)),
      allowedTools: merged.allowedTools,
      hints: hints.filter((hint) => !isAppTool(hint)),
      message: request.userText ?? '',
      maxTools: agent.maxTools ?? dependencies.maxTools,
      fastPath: request.fastPath === true,
    });
    const appActions = resolveAppActions({
      actions: candidates.filter((candidate) => isAppTool(candidate.name)),
      allowedTools: merged.allowedTools,
      hints,
      message: request.userText ?? '',
      maxActions: agent.maxTools ?? dependencies.maxTools,
      fastPath: request.fastPath === true,
    });

    const approval = approvalToolNames(candidates, agent.toolApproval);

    return {
      agentId: agent.id,
      workspaceId: agent.workspaceId,
      name: agent.name,
      model,
      fallbackModels,
      // Usage rows of every attempt (the LLM activity's and finalize's) take these two.
      provider: connection.provider,
      byok: connection.byok,
      systemPrompt: merged.systemPrompt,
      ...(agent.temperature !== null ? { temperature: agent.temperature } : {}),
      maxHops: agent.maxHops,
      allowedTools: merged.allowedTools,
      contextWindow: agent.contextWindow,
      memoryEnabled: agent.memoryEnabled,
      llmRetry: { maximumAttempts: agent.llmMaxAttempts, initialIntervalMs: agent.llmInitialRetryIntervalMs, restartIntervalMs: LLM_RESTART_INTERVAL_MS },
      connection,
      skills: expansion.skills.map((skill) => ({ id: skill.skillId, name: skill.name, version: skill.version })),
      toolSelection,
      ...(appActions.tier !== 'none' ? { appActions } : {}),
      ...(budget ? { budget } : {}),
      ...(approval ? { approval } : {}),
    };
  }

  return { activate };
}

export type AgentActivator = ReturnType<typeof createAgentActivator>;
