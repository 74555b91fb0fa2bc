/**
 * Who may read, resume and stop a conversation: its own user, or an admin of its workspace. Anyone
 * else gets the same answer as for a conversation that does not exist (404), so a member cannot even
 * learn that another member's chat id is taken.
 */
import type { ChatRepository } from '../db/chat-repository';
import type { Principal } from '../db/workspace-repository';
import { seesWholeWorkspace } from './auth';

export type ConversationVisibility = 'missing' | 'visible' | 'hidden';

/** The rule on its own: same workspace, and the caller's own conversation unless it is an admin. */
export function canSeeConversation(principal: Principal, owner: { workspaceId: string; userId: string }): boolean {
  return owner.workspaceId === principal.workspaceId && (seesWholeWorkspace(principal) || owner.userId === principal.userId);
}

export async function conversationVisibility(chats: ChatRepository, conversationId: string, principal: Principal): Promise<ConversationVisibility> {
  const owner = await chats.conversationOwner(conversationId);
  if (!owner) return 'missing';
  return canSeeConversation(principal, owner) ? 'visible' : 'hidden';
}
