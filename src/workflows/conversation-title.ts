/**
 * The conversation title workflow: after a conversation's first answer, the agent's model names the
 * conversation in the background. Started by chat turns recorded before `after-turn-v1` as an
 * abandoned child, so the turn (and its stream) never waits for it and a title failure never fails a
 * turn; turns since run the same activity themselves, after their answer (see chat-turn.ts).
 *
 * Deterministic: one activity call. The activity is idempotent (it writes only over the title the
 * conversation was created with), so retries and a second start for the same conversation are
 * harmless.
 */
import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConversationTitleInput, ConversationTitleResult } from '../shared/conversation-title';
import { TITLE_STEP } from '../shared/policy';

/** Names the conversation; see the module comment for its guarantees. */
export async function conversationTitle(input: ConversationTitleInput): Promise<ConversationTitleResult> {
  const { generateConversationTitle } = proxyActivities<Activities>(TITLE_STEP);
  try {
    return await generateConversationTitle.executeWithOptions({ ...TITLE_STEP, summary: `title · ${input.model}` }, [input]);
  } catch (error) {
    // A conversation without a generated title keeps its first message as title: worth a log line,
    // not a failed workflow that pages an operator.
    const message = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
    log.warn('conversation title not generated', { conversationId: input.conversationId, error: message });
    return { skipped: 'failed' };
  }
}
