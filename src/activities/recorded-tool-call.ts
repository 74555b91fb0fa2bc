/**
 * A tool call that records its own result (`turn-start-v1`): once the tool ran, its result is stored
 * under the round's request id and streamed to the client, in the same activity. Before, a round's
 * results were recorded by a `recordToolResults` local step after the whole round: one history event
 * per tool round fewer, and each output reaches the client when its tool finishes. Calls that do not
 * run (denied, reused, skipped) are still recorded by `recordToolResults`.
 *
 * Both halves are idempotent (the tool's result is stored under its idempotency key, the event under
 * its request id, the stream event under a writer numbered per call), so a retry redoes only what did
 * not land.
 */
import type { RecordToolResultsInput } from './store';
import type { ExecuteToolInput, ToolResult } from './tools';

export interface RecordedToolCallSteps {
  executeTool(input: ExecuteToolInput): Promise<ToolResult>;
  recordToolResults(input: RecordToolResultsInput): Promise<void>;
}

export function createRecordedToolCallActivities(steps: RecordedToolCallSteps) {
  /** Runs the tool, then records its result when the workflow asks for it (see the module comment). */
  async function executeTool(input: ExecuteToolInput): Promise<ToolResult> {
    const result = await steps.executeTool(input);
    const { record } = input;
    if (!record) return result;
    await steps.recordToolResults({
      turnId: input.turnId,
      conversationId: input.conversationId,
      requestId: record.requestId,
      hop: input.hop,
      positions: [record.position],
      results: [
        {
          toolCallId: input.toolCallId,
          toolName: input.name,
          input: input.arguments,
          ...(record.arguments !== undefined ? { arguments: record.arguments } : {}),
          ...result,
          decision: 'executed',
          ...(record.approval ? { approval: record.approval } : {}),
        },
      ],
    });
    return result;
  }

  return { executeTool };
}
