/**
 * Who may read, resume and stop a conversation: its own user, or an admin of its workspace. To anyone
 * else the routes answer as for a conversation that does not exist (resume: 204, stop: nothing to
 * stop); only continuing it (`POST /api/chat` with its chat id) answers 404, since that chat id is
 * taken. Other modules listing or reading conversations apply the same rule.
 */
import type { Principal } from '../db/workspace-repository';
import { seesWholeWorkspace } from './auth';

/** The rule on its own: same workspace, and the caller's own conversation unless it is an admin. */
export function canSeeConversation(principal: Principal, owner: { workspaceId: string; userId: string }): boolean {
  return owner.workspaceId === principal.workspaceId && (seesWholeWorkspace(principal) || owner.userId === principal.userId);
}
