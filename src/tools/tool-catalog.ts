/**
 * The tools a workspace could use, by name and description: what tool selection ranks and what the
 * management API checks tool patterns against. The built-in tools are always in it; other modules
 * (app actions of MCP servers) add their own catalogue with {@link combineToolCatalogs}, so selection
 * and validation see one list.
 */
import { BUILT_IN_TOOLS } from './registry';
import type { ToolCandidate } from './tool-selection';

export interface ToolCatalog {
  /** The workspace's tools in the order they are offered; names are unique. */
  candidates(workspaceId: string): Promise<ToolCandidate[]>;
}

export const builtInToolCatalog: ToolCatalog = {
  async candidates() {
    return BUILT_IN_TOOLS.map((tool) => ({ name: tool.name, description: tool.description, ...(tool.requiresApproval ? { requiresApproval: true } : {}) }));
  },
};

/** One catalogue of several, in order; a name already listed by an earlier catalogue is skipped. */
export function combineToolCatalogs(...catalogs: ToolCatalog[]): ToolCatalog {
  return {
    async candidates(workspaceId) {
      const lists = await Promise.all(catalogs.map((catalog) => catalog.candidates(workspaceId)));
      const seen = new Set<string>();
      return lists.flat().filter((candidate) => !seen.has(candidate.name) && seen.add(candidate.name));
    },
  };
}
