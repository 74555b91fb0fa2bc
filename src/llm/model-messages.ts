/**
 * Converts stored conversation messages (UI message parts) and this turn's hop messages into the
 * OpenAI chat-completions message list.
 */
import type { ChatCompletionContentPart, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { messageText, type StoredMessage } from '../shared/messages';
import type { TurnMessage } from '../shared/turn';

/** The system prompt of a turn: persona, then the condensed older conversation, then memories. */
export function composeSystemPrompt(persona: string, condensed: string | undefined, memorySection: string): string {
  const condensedSection = condensed ? `\n\nEarlier in this conversation (condensed):\n${condensed}` : '';
  return `${persona}${condensedSection}${memorySection}`;
}

/**
 * `userContents` holds the content parts of user messages that carry attachments (see
 * `userContentsWithAttachments`); other messages are sent as plain text.
 */
export function toModelMessages(
  systemPrompt: string,
  history: readonly StoredMessage[],
  turnMessages: readonly TurnMessage[],
  userContents?: ReadonlyMap<StoredMessage, ChatCompletionContentPart[]>,
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (systemPrompt) messages.push({ role: 'system', content: systemPrompt });
  for (const message of history) {
    const text = messageText(message.parts);
    if (message.role === 'user') messages.push({ role: 'user', content: userContents?.get(message) ?? text });
    else if (message.role === 'assistant') {
      if (text) messages.push({ role: 'assistant', content: text });
    } else messages.push({ role: 'system', content: text });
  }
  for (const message of turnMessages) {
    if (message.role === 'tool') messages.push({ role: 'tool', tool_call_id: message.toolCallId, content: message.content });
    else
      messages.push({
        role: 'assistant',
        content: message.content || null,
        tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
      });
  }
  return messages;
}
