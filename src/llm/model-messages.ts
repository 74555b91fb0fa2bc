/**
 * Converts stored conversation messages (UI message parts) and this turn's hop messages into the
 * OpenAI chat-completions message list.
 *
 * Earlier answers keep their tool calls: each step of a stored answer becomes an assistant message
 * (its text and its tool calls, with the argument text the model sent), followed by one tool message
 * per call with the result the model was given then. So a later turn can build on what tools found,
 * as the seed intends when it persists tool results "so they are available in future turns".
 */
import type { ChatCompletionContentPart, ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { isToolPart } from '../shared/answer';
import { DATA_BOUNDARY_INSTRUCTION, toolResultAsData } from './data-boundary';
import { messageText, type MessagePart, type StoredMessage } from '../shared/messages';
import type { TurnMessage } from '../shared/turn';

/** The system prompt of a turn: persona, then the condensed older conversation, then memories. */
export function composeSystemPrompt(persona: string, condensed: string | undefined, memorySection: string): string {
  const condensedSection = condensed ? `\n\nEarlier in this conversation (condensed):\n${condensed}` : '';
  return `${persona}${condensedSection}${memorySection}${DATA_BOUNDARY_INSTRUCTION}`;
}

export type StoredToolResults = ReadonlyMap<string, { content: string; arguments?: string }>;

/** The model's view of a tool part that has no stored result row (turns stored before results were). */
function fallbackToolContent(part: MessagePart): string {
  const record = part as { state?: string; errorText?: unknown; output?: unknown };
  return record.state === 'output-error' ? `Error: ${String(record.errorText ?? '')}` : JSON.stringify(record.output ?? null);
}

/** An assistant message's steps (split at `step-start`) as OpenAI messages. */
function assistantMessages(parts: readonly MessagePart[], toolResults: StoredToolResults): ChatCompletionMessageParam[] {
  const steps: MessagePart[][] = [[]];
  for (const part of parts) {
    if (part.type === 'step-start') steps.push([]);
    else steps.at(-1)!.push(part);
  }
  const messages: ChatCompletionMessageParam[] = [];
  for (const step of steps) {
    const text = messageText(step);
    const tools = step.filter(isToolPart);
    if (tools.length === 0) {
      if (text) messages.push({ role: 'assistant', content: text });
      continue;
    }
    const toolCalls: ChatCompletionMessageToolCall[] = tools.map((part) => ({
      id: part.toolCallId,
      type: 'function',
      function: { name: part.type.slice('tool-'.length), arguments: toolResults.get(part.toolCallId)?.arguments ?? JSON.stringify(part.input ?? {}) },
    }));
    messages.push({ role: 'assistant', content: text || null, tool_calls: toolCalls });
    for (const part of tools) {
      messages.push({ role: 'tool', tool_call_id: part.toolCallId, content: toolResultAsData(part.type.slice('tool-'.length), toolResults.get(part.toolCallId)?.content ?? fallbackToolContent(part)) });
    }
  }
  return messages;
}

/**
 * `userContents` holds the content parts of user messages that carry attachments (see
 * `userContentsWithAttachments`); other user messages are sent as plain text.
 */
export function toModelMessages(
  systemPrompt: string,
  history: readonly StoredMessage[],
  turnMessages: readonly TurnMessage[],
  toolResults: StoredToolResults = new Map(),
  userContents?: ReadonlyMap<StoredMessage, ChatCompletionContentPart[]>,
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (systemPrompt) messages.push({ role: 'system', content: systemPrompt });
  for (const message of history) {
    if (message.role === 'user') messages.push({ role: 'user', content: userContents?.get(message) ?? messageText(message.parts) });
    else if (message.role === 'assistant') messages.push(...assistantMessages(message.parts, toolResults));
    else messages.push({ role: 'system', content: messageText(message.parts) });
  }
  const toolNames = new Map<string, string>();
  for (const message of turnMessages) if (message.role === 'assistant') for (const call of message.toolCalls) toolNames.set(call.id, call.name);
  for (const message of turnMessages) {
    if (message.role === 'tool') messages.push({ role: 'tool', tool_call_id: message.toolCallId, content: toolResultAsData(toolNames.get(message.toolCallId) ?? 'tool', message.content) });
    else if (message.role === 'user') messages.push({ role: 'user', content: message.content });
    else
      messages.push(
        message.toolCalls.length === 0
          ? // A hop that answered before a steering message arrived: its text, then the steering.
            { role: 'assistant', content: message.content }
          : {
              role: 'assistant',
              content: message.content || null,
              tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
            },
      );
  }
  return messages;
}
