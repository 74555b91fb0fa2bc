/**
 * Custom search attributes: how operators find turns in the Temporal UI and with
 * `temporal workflow list --query 'ConversationId="…"'`. Registered by the dev server start.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CONVERSATION_ID = defineSearchAttributeKey('ConversationId', SearchAttributeType.KEYWORD);
export const WORKSPACE_ID = defineSearchAttributeKey('WorkspaceId', SearchAttributeType.KEYWORD);
export const USER_ID = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const AGENT_ID = defineSearchAttributeKey('AgentId', SearchAttributeType.KEYWORD);
export const TURN_STATUS = defineSearchAttributeKey('TurnStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [CONVERSATION_ID, WORKSPACE_ID, USER_ID, AGENT_ID, TURN_STATUS];

/** The CLI's spelling of each key's type, for `temporal server start-dev --search-attribute`. */
export function cliSearchAttributeArguments(): string[] {
  return SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
