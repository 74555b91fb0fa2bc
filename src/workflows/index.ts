/** The workflows this worker runs. Deterministic code only: see the lint fence in eslint.config.mjs. */
export { chatTurn, turnStateQuery } from './chat-turn';
export { conversationTitle } from './conversation-title';
