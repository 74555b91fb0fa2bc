/**
 * Names of app actions: a server's tool `get-issue` on the server `github` is the tool
 * `APP_GITHUB_GET_ISSUE` the model calls. The `APP_` prefix routes it to the MCP executor and lets
 * agents allow a whole server with a pattern (`APP_GITHUB_*`) or every app action (`APP_*`); the
 * loop guard counts each action like any tool (3 per turn), and `app_execute`, the mega-tool that
 * takes an action name and its arguments, has a limit of 2 like the seed's `composio_execute`.
 *
 * Pure: used by the catalogue refresh, the resolution and the executor alike.
 */

/** The prefix of every app action tool. */
export const APP_ACTION_PREFIX = 'APP_';

/** The mega-tool: one action by name, with its arguments (the seed's `composio_execute`). */
export const APP_EXECUTE_TOOL = 'app_execute';

/** OpenAI function names: at most 64 characters of letters, digits, `_` and `-`. */
export const MAX_TOOL_NAME_LENGTH = 64;

/** A server name as the management API accepts it: lower snake case, which upper-cases into its prefix. */
export const SERVER_NAME_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
export const MAX_SERVER_NAME_LENGTH = 32;

/** Upper snake case: `get-issue` → `GET_ISSUE`, `listRepos` → `LIST_REPOS`; other characters become `_`. */
export function upperSnake(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/** The tool prefix of a server's actions: `APP_GITHUB_`. */
export function serverToolPrefix(serverName: string): string {
  return `${APP_ACTION_PREFIX}${upperSnake(serverName)}_`;
}

/** `APP_<SERVER>_<ACTION>`, cut to 64 characters (an action name that long is unusual). */
export function appActionToolName(serverName: string, action: string): string {
  const name = `${serverToolPrefix(serverName)}${upperSnake(action) || 'ACTION'}`;
  return name.slice(0, MAX_TOOL_NAME_LENGTH);
}

/** Whether a tool name is an app action or the mega-tool: both run on an MCP server. */
export function isAppTool(name: string): boolean {
  return name.startsWith(APP_ACTION_PREFIX) || name === APP_EXECUTE_TOOL;
}

/**
 * The tool names of a server's actions, in listing order. Two actions that upper-snake to the same
 * name (`get-sum`, `get_sum`) get `_2`, `_3`… so every name routes to exactly one action.
 */
export function toolNamesFor(serverName: string, actions: readonly string[]): string[] {
  const taken = new Set<string>();
  return actions.map((action) => {
    const base = appActionToolName(serverName, action);
    let name = base;
    for (let suffix = 2; taken.has(name); suffix++) name = `${base.slice(0, MAX_TOOL_NAME_LENGTH - String(suffix).length - 1)}_${suffix}`;
    taken.add(name);
    return name;
  });
}
