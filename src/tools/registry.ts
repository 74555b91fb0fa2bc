/**
 * The built-in tools and who may use them. A tool's name prefix names its group (`platform_`,
 * `workspace_`, `search_`, `test_`), and the group is where the tool is looked up: a name routes to
 * exactly one implementation.
 *
 * An agent's `allowedTools` holds exact names and prefix wildcards (`workspace_*`, `*`). The model is
 * only ever shown the tools its agent allows, and the tool activity checks the same rule again, so a
 * model that invents a call to a hidden tool gets an error, never a result. Scripted `test_*` tools
 * are shown only to agents that name them or `test_*`: `*` does not include them.
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { PLATFORM_TOOLS } from './platform-tools';
import { SEARCH_TOOLS } from './search-knowledge';
import { TEST_TOOLS } from './test-tools';
import { matchesAnyToolPattern } from './tool-patterns';
import type { ToolDefinition } from './tool-definition';
import { WORKSPACE_FILE_TOOLS } from './workspace-file-tools';

export type ToolGroup = 'platform' | 'workspace' | 'search' | 'test';

export const TOOL_GROUP_PREFIXES: Readonly<Record<ToolGroup, string>> = {
  platform: 'platform_',
  workspace: 'workspace_',
  search: 'search_',
  test: 'test_',
};

const TOOLS_BY_GROUP: Readonly<Record<ToolGroup, readonly ToolDefinition[]>> = {
  platform: PLATFORM_TOOLS,
  workspace: WORKSPACE_FILE_TOOLS,
  search: SEARCH_TOOLS,
  test: TEST_TOOLS,
};

const GROUPS = Object.keys(TOOL_GROUP_PREFIXES) as ToolGroup[];

for (const group of GROUPS) {
  for (const tool of TOOLS_BY_GROUP[group]) {
    if (!tool.name.startsWith(TOOL_GROUP_PREFIXES[group])) {
      throw new Error(`Tool ${tool.name} is registered in group ${group} but lacks the prefix ${TOOL_GROUP_PREFIXES[group]}`);
    }
  }
}

/** Every built-in tool, in the order they are offered to the model. */
export const BUILT_IN_TOOLS: readonly ToolDefinition[] = GROUPS.flatMap((group) => TOOLS_BY_GROUP[group]);

/** The group a tool name routes to, by its prefix. */
export function toolGroupOf(name: string): ToolGroup | undefined {
  return GROUPS.find((group) => name.startsWith(TOOL_GROUP_PREFIXES[group]));
}

/** The built-in tool of that name, or undefined for a name no tool has. */
export function findTool(name: string): ToolDefinition | undefined {
  const group = toolGroupOf(name);
  return group ? TOOLS_BY_GROUP[group].find((tool) => tool.name === name) : undefined;
}

/** Whether an agent with these `allowedTools` may call the tool (see the module comment for the rules). */
export function isToolAllowed(name: string, allowedTools: readonly string[]): boolean {
  return matchesAnyToolPattern(name, allowedTools);
}

function toFunctionTool(tool: ToolDefinition): ChatCompletionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

/** The built-in tools an agent may call, as OpenAI function tools for the completion request. */
export function toolsForAgent(allowedTools: readonly string[]): ChatCompletionTool[] {
  return BUILT_IN_TOOLS.filter((tool) => isToolAllowed(tool.name, allowedTools)).map(toFunctionTool);
}

/**
 * The built-in tools of a turn's tool selection, in the selection's order, as OpenAI function tools.
 * Names that are not built-in tools (app actions resolved elsewhere) or not allowed are left out.
 */
export function toolsNamed(names: readonly string[], allowedTools: readonly string[]): ChatCompletionTool[] {
  return names.flatMap((name) => {
    const tool = findTool(name);
    return tool && isToolAllowed(name, allowedTools) ? [toFunctionTool(tool)] : [];
  });
}
