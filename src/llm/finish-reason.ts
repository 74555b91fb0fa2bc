/**
 * Provider finish reasons stop here: the LLM activity maps OpenAI's (`stop`, `length`,
 * `content_filter`, `tool_calls`, the legacy `function_call`) to the project's own type once, and
 * nothing downstream sees the provider's spelling.
 */
import type { FinishReason } from '../shared/stream-events';

export function finishReasonOf(providerReason: string | null | undefined): FinishReason {
  switch (providerReason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    default:
      return 'other';
  }
}
