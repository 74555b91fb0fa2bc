/**
 * Token counting for the context guard, with a real tokenizer (gpt-tokenizer, o200k/cl100k family).
 * Counts are an estimate for non-OpenAI models, which is what a guard at 85% needs.
 */
import { countTokens } from 'gpt-tokenizer';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** Fraction of the context window above which older messages are condensed. */
export const CONTEXT_GUARD_THRESHOLD = 0.85;
/** Messages kept verbatim at the end of the conversation when condensing. */
export const RECENT_MESSAGES_KEPT = 4;
const PER_MESSAGE_OVERHEAD = 4;

export function countMessageTokens(messages: readonly ChatCompletionMessageParam[]): number {
  let total = 0;
  for (const message of messages) {
    const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '');
    const toolCalls = 'tool_calls' in message && message.tool_calls ? JSON.stringify(message.tool_calls) : '';
    total += countTokens(content) + (toolCalls ? countTokens(toolCalls) : 0) + PER_MESSAGE_OVERHEAD;
  }
  return total;
}

export function exceedsContextGuard(tokens: number, contextWindow: number): boolean {
  return tokens > contextWindow * CONTEXT_GUARD_THRESHOLD;
}
