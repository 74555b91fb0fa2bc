/**
 * Which app actions (tools of the workspace's MCP servers) a turn offers the model, resolved in the
 * seed's order (`ComposioToolService.get_tools_for_step`): the first tier that finds something wins.
 *
 * 1. `hint`: the request's or the skills' tool hints name actions exactly (`APP_GITHUB_GET_ISSUE`)
 *    or by server (`APP_GITHUB_*`): those actions.
 * 2. `search`: actions the user's message names outright, then a search of the message's words over
 *    the cached catalogue's names and descriptions (the same scoring as the built-in tool
 *    selection): the best matches.
 * 3. `catalogue`: nothing matched, but the agent's whole catalogue fits in the cap: every action, in
 *    catalogue order (the seed's cache fallback: the model picks from the list).
 * 4. `mega`: nothing matched and the catalogue is too large to offer: the `app_execute` mega-tool,
 *    which takes an action name and its arguments, with the catalogue's first actions as hints in its
 *    description (the seed's `composio_execute`; the loop guard allows it twice per turn).
 *
 * Each tier is capped at `maxActions`. Pure and deterministic, like the built-in selection: the
 * activation activity runs it once per turn and the result is recorded in the turn's history.
 */
import { APP_EXECUTE_TOOL, isAppTool } from '../mcp/action-names';
import { isToolPattern, matchesAnyToolPattern, matchesToolPattern } from './tool-patterns';
import { intentWords, searchScore, type ToolCandidate } from './tool-selection';
import type { AppActionResolution } from '../shared/turn';

export interface AppActionResolutionInput {
  /** The workspace's app actions (`APP_*`), in catalogue order. Other names are ignored. */
  actions: readonly ToolCandidate[];
  allowedTools: readonly string[];
  /** Request hints first, then skill hints. */
  hints: readonly string[];
  message: string;
  maxActions: number;
  fastPath: boolean;
}

/** How many actions the mega-tool's description names. */
export const MEGA_TOOL_HINTS = 20;

const SEARCH_THRESHOLD = 2;
const SEARCH_RELATIVE_THRESHOLD = 0.5;

function mentions(message: string, name: string): boolean {
  return new RegExp(`(?:^|[^A-Za-z0-9_])${name}(?:$|[^A-Za-z0-9_])`, 'i').test(message);
}

/** Resolves the turn's app actions; see the module comment for the tiers. */
export function resolveAppActions(input: AppActionResolutionInput): AppActionResolution {
  const cap = Math.max(0, Math.floor(input.maxActions));
  const allowed = input.actions.filter((action) => isAppTool(action.name) && action.name !== APP_EXECUTE_TOOL && matchesAnyToolPattern(action.name, input.allowedTools));
  if (input.fastPath || allowed.length === 0 || cap === 0) return { tier: 'none', actions: [] };

  const hinted: string[] = [];
  for (const hint of input.hints) {
    if (!isToolPattern(hint) || !(hint.startsWith('APP_') || hint === '*')) continue;
    for (const action of allowed) if (matchesToolPattern(action.name, hint) && !hinted.includes(action.name)) hinted.push(action.name);
  }
  if (hinted.length > 0) return { tier: 'hint', actions: hinted.slice(0, cap) };

  const mentioned = allowed.filter((action) => mentions(input.message, action.name)).map((action) => action.name);
  const words = intentWords(input.message);
  const scored = allowed.map((action, position) => ({ action, position, score: searchScore(action, words) }));
  const best = Math.max(0, ...scored.map((entry) => entry.score));
  const found = scored
    .filter((entry) => entry.score >= SEARCH_THRESHOLD && entry.score > best * SEARCH_RELATIVE_THRESHOLD)
    .sort((left, right) => right.score - left.score || left.position - right.position)
    .map((entry) => entry.action.name)
    .filter((name) => !mentioned.includes(name));
  found.unshift(...mentioned);
  if (found.length > 0) return { tier: 'search', actions: found.slice(0, cap) };

  if (allowed.length <= cap) return { tier: 'catalogue', actions: allowed.map((action) => action.name) };
  return { tier: 'mega', actions: [], megaTool: { hints: allowed.slice(0, MEGA_TOOL_HINTS).map((action) => action.name) } };
}
