/**
 * The chat turn as it ran before the `turn-core-v2` patch (frozen; do not change its decisions).
 *
 * `chatTurn` calls it for histories recorded without the patch marker, so turns that were running
 * when this version was deployed, and their recorded histories, still replay. Remove it with
 * `deprecatePatch('turn-core-v2')` once no such turn can exist (all were started before the deploy
 * and have ended, and their histories are past retention).
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import { messageText, type MessagePart } from '../shared/messages';
import { TURN_STATUS } from '../shared/search-attributes';
import type { FinishReason, TokenUsage } from '../shared/stream-events';
import { ToolExecutionTracker, type ToolOutcome } from '../shared/tool-tracker';
import { isFastPath, isFreshStart, memorySkipReason } from '../shared/turn-planning';
import type { AgentConfiguration, ChatTurnInput, ChatTurnResult, RecordedToolResult, TurnMessage, TurnState } from '../shared/turn';
import { hopLimitWarning, turnStateQuery } from './turn-queries';

/**
 * The activities as this version called them. Typed loosely on purpose: the version is frozen, and
 * only the order of its commands matters for replay.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LegacyActivity = (...args: any[]) => Promise<any>;
type LegacyActivities = Record<
  'persistUserMessage' | 'activateAgent' | 'retrieveMemory' | 'guardContext' | 'streamCompletion' | 'executeTool' | 'recordToolResults' | 'finalizeTurn' | 'recordContextReset' | 'rememberExchange',
  LegacyActivity
>;

/** The tool call shape of this version. */
interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The LLM activity's result as this version reads it. */
interface LegacyHopResult {
  content: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  usage: TokenUsage;
}

/** The tool call key of this version (the activity only uses it as an opaque key). */
function toolCallKey(turnId: string, hop: number, toolCallId: string): string {
  return `${turnId}:${hop}:${toolCallId}`;
}

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

function parsedInput(call: ToolCall): unknown {
  try {
    return JSON.parse(call.arguments || '{}');
  } catch {
    return call.arguments;
  }
}

/** The turn before `turn-core-v2`; see the module comment. */
export async function chatTurnV1(input: ChatTurnInput): Promise<ChatTurnResult> {
  // Short Postgres/Redis steps run as local activities: they execute inside the workflow task on
  // the same worker, with no server round trip per step, so the path to the first token is one
  // workflow task plus the LLM activity (and each step is one marker event in history, not three).
  const store = proxyLocalActivities<LegacyActivities>({
    startToCloseTimeout: '30 seconds',
    localRetryThreshold: '10 seconds',
    retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
  });
  const tools = proxyActivities<LegacyActivities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 5 },
  });
  // WAIT_CANCELLATION_COMPLETED: on stop, the workflow waits until the hop has really stopped
  // publishing, so the partial answer it persists is exactly what clients saw.
  const llmOptions = {
    startToCloseTimeout: input.options.llmStartToCloseTimeoutMs,
    heartbeatTimeout: input.options.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
  } satisfies ActivityOptions;
  const llm = proxyActivities<LegacyActivities>(llmOptions);

  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const state: TurnState = { status: 'starting', hop: 0, usage, toolCalls: 0 };
  setHandler(turnStateQuery, () => state);

  const userText = messageText(input.userMessage.parts);
  const fastPath = isFastPath(userText);
  const parts: MessagePart[] = [];
  let agent: AgentConfiguration | undefined;
  let hopsRun = 0;
  let warningText: string | undefined;
  const answerText = () => messageText(parts);

  const finish = async (finishReason: FinishReason, errorText?: string, partialHop?: number) => {
    state.status = 'finalizing';
    await store.finalizeTurn.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: `finalize · ${finishReason}` }, [
      {
        turnId: input.turnId,
        conversationId: input.conversationId,
        requestId: input.requestId,
        messageId: input.messageId,
        model: agent?.model ?? '',
        parts,
        finishReason,
        usage,
        ...(errorText ? { errorText } : {}),
        ...(warningText ? { warningText, warningHop: state.hop } : {}),
        ...(partialHop !== undefined ? { partialHop } : {}),
      },
    ]);
  };

  try {
    if (isFreshStart(userText)) {
      await store.recordContextReset({ turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId });
    }
    await store.persistUserMessage.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: 'persist user message' }, [
      { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, message: input.userMessage },
    ]);
    agent = (await store.activateAgent.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: 'activate agent' }, [
      { workspaceId: input.workspaceId, agentId: input.agentId, useSystemLlm: input.useSystemLlm },
    ])) as AgentConfiguration;

    const useMemory = !fastPath && agent.memoryEnabled && memorySkipReason(userText, { widgetMode: input.widgetMode ?? false }) === undefined;
    const memories = useMemory
      ? (
          await store.retrieveMemory.executeWithOptions({ startToCloseTimeout: '10 seconds', summary: 'memory' }, [
            { turnId: input.turnId, workspaceId: input.workspaceId, conversationId: input.conversationId, query: userText, widgetMode: input.widgetMode ?? false },
          ])
        ).memories
      : [];
    if (!fastPath) {
      await store.guardContext.executeWithOptions({ startToCloseTimeout: '2 minutes', summary: 'context guard' }, [
        { turnId: input.turnId, conversationId: input.conversationId, agent },
      ]);
    }

    const tracker = new ToolExecutionTracker();
    const turnMessages: TurnMessage[] = [];
    let finishReason: FinishReason = 'other';
    for (let hop = 0; hop < agent.maxHops; hop++) {
      state.hop = hop;
      state.status = 'streaming';
      const retry = agent.llmRetry
        ? { ...llmOptions.retry, maximumAttempts: agent.llmRetry.maximumAttempts, initialInterval: agent.llmRetry.initialIntervalMs }
        : llmOptions.retry;
      const result: LegacyHopResult = await llm.streamCompletion.executeWithOptions({ ...llmOptions, retry, summary: `LLM hop ${hop} · ${agent.model}` }, [
        {
          turnId: input.turnId,
          conversationId: input.conversationId,
          workspaceId: input.workspaceId,
          hop,
          agent,
          turnMessages,
          fastPath,
          memories: hop === 0 ? memories : [],
        },
      ]);
      hopsRun = hop + 1;
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      parts.push({ type: 'step-start' });
      if (result.content) parts.push({ type: 'text', text: result.content });
      finishReason = mapFinishReason(result.finishReason);
      if (result.toolCalls.length === 0) break;

      state.status = 'running-tools';
      state.toolCalls += result.toolCalls.length;
      turnMessages.push({ role: 'assistant', content: result.content, toolCalls: result.toolCalls });
      // Decide the hop as a whole (a duplicate within the hop reuses its twin), run what must run
      // in parallel, record it, then answer the reused and skipped calls from the records.
      const decisions = tracker.decideHop(result.toolCalls);
      const executed = new Map<string, RecordedToolResult>();
      await Promise.all(
        result.toolCalls.map(async (call, index) => {
          const decision = decisions[index]!;
          if (decision.action !== 'execute') return;
          const toolResult = await tools.executeTool.executeWithOptions({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '5 seconds', summary: `tool ${call.name}` }, [
            {
              turnId: input.turnId,
              hop,
              toolCallId: call.id,
              idempotencyKey: toolCallKey(input.turnId, hop, call.id),
              workspaceId: input.workspaceId,
              conversationId: input.conversationId,
              name: call.name,
              arguments: decision.parsedArguments,
              allowedTools: agent!.allowedTools,
            },
          ]);
          executed.set(call.id, { toolCallId: call.id, toolName: call.name, input: decision.parsedArguments, ...toolResult, decision: 'executed' });
        }),
      );
      for (const call of result.toolCalls) {
        const done = executed.get(call.id);
        if (done) tracker.record(call, { content: done.content, isError: done.isError });
      }
      const outcomes = result.toolCalls.map((call, index): RecordedToolResult => {
        const done = executed.get(call.id);
        if (done) return done;
        const decision = decisions[index]!;
        const earlier: ToolOutcome | undefined = decision.action === 'reuse' ? tracker.outcomeOf(decision.previousToolCallId) : undefined;
        const reason = decision.action === 'execute' ? '' : decision.reason;
        return {
          toolCallId: call.id,
          toolName: call.name,
          input: parsedInput(call),
          content: earlier ? `${earlier.content}\n(Not executed again: ${reason})` : `Not executed: ${reason}`,
          isError: earlier ? earlier.isError : true,
          output: earlier ? { reused: true, reason } : null,
          decision: earlier ? 'reused' : 'skipped',
        };
      });
      await store.recordToolResults.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: `tool results · hop ${hop}` }, [
        { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, hop, results: outcomes },
      ]);
      for (const outcome of outcomes) {
        turnMessages.push({ role: 'tool', toolCallId: outcome.toolCallId, content: outcome.content });
        parts.push({
          type: `tool-${outcome.toolName}`,
          toolCallId: outcome.toolCallId,
          state: outcome.isError ? 'output-error' : 'output-available',
          input: outcome.input,
          ...(outcome.isError ? { errorText: outcome.content } : { output: outcome.output }),
        });
      }
      if (hop + 1 >= agent.maxHops) {
        warningText = hopLimitWarning(agent.maxHops);
        parts.push({ type: 'text', text: warningText });
        finishReason = 'hop-limit';
      }
    }
    await finish(finishReason);
    state.status = 'completed';
    upsertSearchAttributes([{ key: TURN_STATUS, value: 'completed' }]);
    if (useMemory) {
      await store.rememberExchange.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: 'remember exchange' }, [
        { turnId: input.turnId, workspaceId: input.workspaceId, conversationId: input.conversationId, userText, assistantText: answerText() },
      ]);
    }
    return { messageId: input.messageId, finishReason, text: answerText(), hops: hopsRun, usage };
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
