/**
 * The title activity: asks the agent's model to name a conversation from its first exchange and
 * stores the answer, unless the conversation already has a generated or user-chosen title.
 */
import { Context } from '@temporalio/activity';
import type { ConversationRepository } from '../db/conversation-repository';
import { classifyLlmError } from '../llm/classify-error';
import { redactCredentials, type LlmClients } from '../llm/connection-clients';
import type { Logger } from '../logger';
import { cleanTitle, TITLE_INSTRUCTION, TITLE_REQUEST, type ConversationTitleInput, type ConversationTitleResult } from '../shared/conversation-title';

export interface TitleDependencies {
  conversations: ConversationRepository;
  /** The `openai` client of each LLM connection, shared with the LLM activity. */
  clients: LlmClients;
  logger: Logger;
}

/** How much of each side of the first exchange the title request carries. */
const EXCHANGE_SIDE_LIMIT = 2000;

export function createTitleActivities(dependencies: TitleDependencies) {
  const { conversations, clients, logger } = dependencies;

  /**
   * Generates and stores the conversation's title. Idempotent: the write applies only while the
   * conversation still has the title it was created with, so a retry (or a second workflow for the
   * same conversation) writes nothing new, and a rename by the user always wins. Model errors go
   * through the one LLM error classification, so Temporal retries what is worth retrying.
   */
  async function generateConversationTitle(input: ConversationTitleInput): Promise<ConversationTitleResult> {
    const exchange = await conversations.firstExchange(input.conversationId);
    if (!exchange) return { skipped: 'no-first-answer' };
    if (!(await conversations.hasOriginalTitle(input.conversationId))) return { skipped: 'already-titled' };
    const openai = await clients.clientFor(input.workspaceId, input.connection);
    let answer: string;
    try {
      const completion = await openai.chat.completions.create(
        {
          model: input.model,
          messages: [
            { role: 'system', content: TITLE_INSTRUCTION },
            { role: 'user', content: exchange.userText.slice(0, EXCHANGE_SIDE_LIMIT) },
            { role: 'assistant', content: exchange.assistantText.slice(0, EXCHANGE_SIDE_LIMIT) },
            { role: 'user', content: TITLE_REQUEST },
          ],
          max_tokens: 32,
          temperature: 0.2,
        },
        { signal: Context.current().cancellationSignal },
      );
      answer = completion.choices[0]?.message.content ?? '';
    } catch (error) {
      throw redactCredentials(classifyLlmError(error), clients.credentialsOf(openai));
    }
    const title = cleanTitle(answer);
    if (!title) return { skipped: 'empty-title' };
    const stored = await conversations.setGeneratedTitle(input.conversationId, title);
    logger.info({ conversationId: input.conversationId, turnId: input.turnId, stored }, 'conversation title generated');
    return stored ? { title } : { skipped: 'already-titled' };
  }

  return { generateConversationTitle };
}
