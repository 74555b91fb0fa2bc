/**
 * The app actions as tools: the cached catalogue in Postgres read as a {@link ToolCatalog} (for tool
 * hints, the management API's pattern checks and the turn's resolution), and as OpenAI function
 * tools for the LLM hop (name, description, the server's input schema as parameters).
 *
 * Reads only the cache, never a server: a turn is never held up by a slow or dead MCP server, and a
 * server that is down keeps its cached actions in service.
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ToolCatalog } from '../tools/tool-catalog';
import type { ToolCandidate } from '../tools/tool-selection';
import type { AppActionResolution } from '../shared/turn';
import { APP_EXECUTE_TOOL } from './action-names';
import type { McpActionRecord, McpServerRepository } from './mcp-server-repository';

const MAX_DESCRIPTION_CHARS = 1000;

function describe(action: McpActionRecord): string {
  const text = action.description.trim() || `${action.action} on the MCP server ${action.serverName}`;
  return `${text.slice(0, MAX_DESCRIPTION_CHARS)} (app action ${action.action} of ${action.serverName})`;
}

/** The mega-tool's description: what it does, then the actions it may run as hints. */
export function megaToolDescription(hints: readonly McpActionRecord[]): string {
  const lines = hints.map((action) => `- ${action.toolName}: ${action.description.trim().split('\n')[0]!.slice(0, 160)}`);
  return [
    "Runs one app action of the workspace's MCP servers by name, with its arguments as a JSON object.",
    ...(lines.length > 0 ? ['Actions available (name: what it does):', ...lines] : []),
  ].join('\n');
}

export const MEGA_TOOL_PARAMETERS = {
  type: 'object',
  properties: {
    action: { type: 'string', description: 'The action name, such as APP_GITHUB_GET_ISSUE.' },
    arguments: { type: 'object', description: "The action's arguments.", additionalProperties: true },
  },
  required: ['action'],
  additionalProperties: false,
} as const;

export class AppActionCatalog implements ToolCatalog {
  constructor(private readonly servers: McpServerRepository) {}

  /** Every cached action of the workspace, then `app_execute` when there is at least one. */
  async candidates(workspaceId: string): Promise<ToolCandidate[]> {
    const actions = await this.servers.actions(workspaceId);
    if (actions.length === 0) return [];
    return [
      ...actions.map((action) => ({ name: action.toolName, description: describe(action) })),
      { name: APP_EXECUTE_TOOL, description: 'Runs one app action of an MCP server by name, with its arguments.' },
    ];
  }

  /** The function tools of a turn's resolution, in its order; actions no longer cached are left out. */
  async functionTools(workspaceId: string, resolution: AppActionResolution | undefined): Promise<ChatCompletionTool[]> {
    if (!resolution || resolution.tier === 'none') return [];
    const actions = await this.servers.actions(workspaceId);
    const byName = new Map(actions.map((action) => [action.toolName, action]));
    const tools: ChatCompletionTool[] = resolution.actions.flatMap((name) => {
      const action = byName.get(name);
      if (!action) return [];
      const parameters = { type: 'object', properties: {}, ...action.inputSchema };
      return [{ type: 'function' as const, function: { name, description: describe(action), parameters } }];
    });
    if (resolution.megaTool) {
      const hints = resolution.megaTool.hints.flatMap((name) => byName.get(name) ?? []);
      tools.push({ type: 'function', function: { name: APP_EXECUTE_TOOL, description: megaToolDescription(hints), parameters: { ...MEGA_TOOL_PARAMETERS } } });
    }
    return tools;
  }
}
