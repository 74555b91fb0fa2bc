/**
 * The chat turn workflow: one user message in, one streamed and persisted assistant answer out.
 *
 * Deterministic by construction: it only orders activities and makes decisions from their results.
 * Conversation history is loaded inside activities; history carries ids, this turn's new messages and
 * per-hop results, which keeps a turn far below Temporal's history limits. A worker that dies
 * mid-answer only costs the retry of the hop it was streaming.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { TURN_STATUS } from '../shared/search-attributes';
import type { FinishReason, TokenUsage } from '../shared/stream-events';
import type { AgentConfiguration, ChatTurnInput, ChatTurnResult, TurnMessage, TurnState } from '../shared/turn';

/** Live state of a running turn, for operators (`temporal workflow query --type state`). */
export const turnStateQuery = defineQuery<TurnState>('state');

function mapFinishReason(reason: string | null): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'tool_calls':
      return 'tool-calls';
    default:
      return 'other';
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Runs one chat turn; see the module comment for its guarantees. */
export async function chatTurn(input: ChatTurnInput): Promise<ChatTurnResult> {
  const store = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
  });
  // WAIT_CANCELLATION_COMPLETED: on stop, the workflow waits until the hop has really stopped
  // publishing, so the partial answer it persists is exactly what clients saw.
  const llm = proxyActivities<Activities>({
    startToCloseTimeout: input.options.llmStartToCloseTimeoutMs,
    heartbeatTimeout: input.options.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
  });

  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const state: TurnState = { status: 'starting', hop: 0, usage };
  setHandler(turnStateQuery, () => state);

  let agent: AgentConfiguration | undefined;
  let text = '';
  let hopsRun = 0;
  const finish = async (finishReason: FinishReason, errorText?: string, partialHop?: number) => {
    state.status = 'finalizing';
    await store.finalizeTurn.executeWithOptions(
      { startToCloseTimeout: '30 seconds', summary: `finalize · ${finishReason}` },
      [
        {
          turnId: input.turnId,
          conversationId: input.conversationId,
          requestId: input.requestId,
          messageId: input.messageId,
          model: agent?.model ?? '',
          text,
          finishReason,
          usage,
          ...(errorText ? { errorText } : {}),
          ...(partialHop !== undefined ? { partialHop } : {}),
        },
      ],
    );
  };

  try {
    await store.persistUserMessage({
      turnId: input.turnId,
      conversationId: input.conversationId,
      requestId: input.requestId,
      message: input.userMessage,
    });
    agent = await store.activateAgent({ workspaceId: input.workspaceId, agentId: input.agentId, useSystemLlm: input.useSystemLlm });
    // Memory retrieval and the context guard come here (issue 3).

    const turnMessages: TurnMessage[] = [];
    let finishReason: FinishReason = 'other';
    for (let hop = 0; hop < agent.maxHops; hop++) {
      state.hop = hop;
      state.status = 'streaming';
      const result = await llm.streamCompletion.executeWithOptions(
        {
          startToCloseTimeout: input.options.llmStartToCloseTimeoutMs,
          heartbeatTimeout: input.options.heartbeatTimeoutMs,
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
          summary: `LLM hop ${hop} · ${agent.model}`,
        },
        [{ turnId: input.turnId, conversationId: input.conversationId, workspaceId: input.workspaceId, hop, agent, turnMessages }],
      );
      hopsRun = hop + 1;
      text += result.content;
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      finishReason = mapFinishReason(result.finishReason);
      // Tool calls run here, each as its own activity (issue 3); until then a hop ends the turn.
      break;
    }
    await finish(finishReason);
    state.status = 'completed';
    upsertSearchAttributes([{ key: TURN_STATUS, value: 'completed' }]);
    return { messageId: input.messageId, finishReason, text, hops: hopsRun, usage };
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => finish('cancelled', undefined, state.status === 'streaming' ? state.hop : undefined));
      state.status = 'cancelled';
      upsertSearchAttributes([{ key: TURN_STATUS, value: 'cancelled' }]);
      throw error;
    }
    const message = failureMessage(error);
    state.lastError = message;
    await finish('error', message, state.status === 'streaming' ? state.hop : undefined);
    state.status = 'failed';
    upsertSearchAttributes([{ key: TURN_STATUS, value: 'failed' }]);
    throw ApplicationFailure.nonRetryable(`Turn failed: ${message}`, 'TurnFailed');
  }
}
