/** The workflows this worker runs. Deterministic code only: see the lint fence in eslint.config.mjs. */
export { chatTurn, turnStateQuery } from './chat-turn';
export { ingestDocument } from './document-ingestion';
export { embedWorkspaceMemories, memoriesChangedSignal } from './memory-embedding';
export { conversationTitle } from './conversation-title';
export { refreshMcpCatalogues, refreshMcpCatalogueNow } from './mcp-catalogue';
export { recipeRun } from './recipe-run';
