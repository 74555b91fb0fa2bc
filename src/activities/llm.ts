/**
 * The streaming LLM activity: one hop of the turn. It streams the completion through the `openai`
 * client, publishes every delta to the turn's Redis log, heartbeats while it streams, and returns the
 * whole message so the workflow can decide what comes next.
 *
 * Retry semantics: a retried attempt (attempt > 1) publishes `hop-restart` before its first delta, so
 * clients drop the failed attempt's text; the workflow only keeps what the last attempt returns.
 * Cancellation arrives through the heartbeat and aborts the HTTP request to the model.
 */
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import type { ChatRepository } from '../db/chat-repository';
import type { UsageRepository } from '../db/usage-repository';
import { classifyLlmError } from '../llm/classify-error';
import { toModelMessages } from '../llm/model-messages';
import { ToolCallAccumulator } from '../llm/tool-call-accumulator';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import type { StreamEvent } from '../shared/stream-events';
import type { AgentConfiguration, HopResult, TurnMessage } from '../shared/turn';

export interface LlmDependencies {
  openai: OpenAI;
  chats: ChatRepository;
  usage: UsageRepository;
  eventLog: EventLog;
  logger: Logger;
  /** Whether the deployment's key belongs to the customer (bring your own key). */
  byok: boolean;
}

export interface StreamCompletionInput {
  turnId: string;
  conversationId: string;
  workspaceId: string;
  hop: number;
  agent: AgentConfiguration;
  turnMessages: TurnMessage[];
}

export function createLlmActivities(dependencies: LlmDependencies) {
  const { openai, chats, usage, eventLog, logger } = dependencies;

  /** Streams one hop; see the module comment for retry and cancellation semantics. */
  async function streamCompletion(input: StreamCompletionInput): Promise<HopResult> {
    const context = Context.current();
    const attempt = context.info.attempt;
    const { turnId, hop } = input;
    let lastEventId = '';
    const publish = async (event: StreamEvent) => {
      lastEventId = await eventLog.append(turnId, event);
      context.heartbeat({ lastEventId, hop, attempt });
    };
    const heartbeatEvery = Math.max(200, Math.floor((context.info.heartbeatTimeoutMs ?? 10_000) / 3));
    const heartbeatTimer = setInterval(() => context.heartbeat({ lastEventId, hop, attempt }), heartbeatEvery);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    try {
      await publish(attempt > 1 ? { kind: 'hop-restart', hop, attempt } : { kind: 'hop-start', hop, attempt });
      const history = await chats.listMessages(input.conversationId);
      const messages = toModelMessages(input.agent.systemPrompt, history, input.turnMessages);
      const stream = await openai.chat.completions.create(
        {
          model: input.agent.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(input.agent.temperature !== undefined ? { temperature: input.agent.temperature } : {}),
        },
        { signal: context.cancellationSignal },
      );
      let content = '';
      let finishReason: string | null = null;
      let inputTokens = 0;
      let outputTokens = 0;
      const toolCalls = new ToolCallAccumulator();
      for await (const chunk of stream) {
        if (chunk.usage) {
          inputTokens = chunk.usage.prompt_tokens;
          outputTokens = chunk.usage.completion_tokens;
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          firstTokenAt ??= performance.now();
          content += delta.content;
          await publish({ kind: 'text-delta', hop, attempt, delta: delta.content });
        }
        for (const toolDelta of delta?.tool_calls ?? []) {
          const { started: callStarted, call } = toolCalls.add(toolDelta);
          if (callStarted && call.id && call.name) {
            await publish({ kind: 'tool-input-start', hop, attempt, toolCallId: call.id, toolName: call.name });
          }
          if (toolDelta.function?.arguments && call.id && call.name) {
            await publish({ kind: 'tool-input-delta', hop, attempt, toolCallId: call.id, delta: toolDelta.function.arguments });
          }
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      const latencyMs = Math.round(performance.now() - started);
      const result: HopResult = {
        hop,
        attempt,
        content,
        toolCalls: toolCalls.complete(),
        finishReason,
        usage: { inputTokens, outputTokens },
      };
      await publish({ kind: 'hop-end', hop, attempt, finishReason });
      await usage.recordHop({
        turnId,
        hop,
        attempt,
        conversationId: input.conversationId,
        workspaceId: input.workspaceId,
        agentId: input.agent.agentId,
        model: input.agent.model,
        inputTokens,
        outputTokens,
        latencyMs,
        timeToFirstTokenMs: firstTokenAt === undefined ? undefined : Math.round(firstTokenAt - started),
        byok: dependencies.byok,
      });
      logger.info({ turnId, hop, attempt, latencyMs, outputTokens, finishReason }, 'hop streamed');
      return result;
    } catch (error) {
      if (context.cancellationSignal.aborted) {
        logger.info({ turnId, hop, attempt }, 'hop cancelled');
        throw context.cancellationSignal.reason ?? error;
      }
      const failure = classifyLlmError(error);
      logger.warn({ turnId, hop, attempt, type: failure.type, error: failure.message }, 'hop failed');
      throw failure;
    } finally {
      clearInterval(heartbeatTimer);
    }
  }

  return { streamCompletion };
}
