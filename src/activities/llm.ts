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
import { CancelledFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { ChatRepository } from '../db/chat-repository';
import type { UsageRepository } from '../db/usage-repository';
import { classifyLlmError } from '../llm/classify-error';
import { countMessageTokens, exceedsContextGuard, RECENT_MESSAGES_KEPT } from '../llm/context-guard';
import { composeSystemPrompt, toModelMessages } from '../llm/model-messages';
import { userContentsWithAttachments } from '../llm/attachment-content';
import type { Attachments } from '../storage/attachments';
import type { GeneratedImages } from '../storage/generated-images';
import { InlineImageRewriter } from '../storage/inline-images';
import { formatMemorySection } from '../memory/memory-prompt';
import { toolsForAgent } from '../tools/registry';
import { DELTA_PERSISTENCE_DEFAULTS, DeltaBatcher, type DeltaPersistenceOptions } from '../llm/delta-persistence';
import { ToolCallAccumulator } from '../llm/tool-call-accumulator';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import type { StreamEvent } from '../shared/stream-events';
import { messageText } from '../shared/messages';
import type { AgentConfiguration, HopResult, TurnMemory, TurnMessage } from '../shared/turn';

/** The minimal prompt of the fast path: trivial queries get no persona, memory or tools. */
export const FAST_PATH_PROMPT = 'You are a friendly assistant. Answer briefly.';

export interface LlmDependencies {
  openai: OpenAI;
  chats: ChatRepository;
  usage: UsageRepository;
  eventLog: EventLog;
  logger: Logger;
  /** Whether the deployment's key belongs to the customer (bring your own key). */
  byok: boolean;
  deltaPersistence?: DeltaPersistenceOptions;
  /** Generated images and attachments; without it answers keep inline images and files are not read. */
  media?: LlmMedia;
}

export interface LlmMedia {
  generatedImages: GeneratedImages;
  attachments: Attachments;
  /** Model name patterns that get images as image parts. */
  visionModels: readonly string[];
  /** Characters of an attached text file given to the model. */
  inlineTextChars: number;
}

export interface StreamCompletionInput {
  turnId: string;
  conversationId: string;
  workspaceId: string;
  hop: number;
  agent: AgentConfiguration;
  turnMessages: TurnMessage[];
  /** Trivial query: minimal prompt, no tools. */
  fastPath?: boolean;
  /** Memories retrieved for this turn (hop 0 only): injected into the system prompt and reported. */
  memories?: TurnMemory[];
}

export interface GuardContextInput {
  turnId: string;
  conversationId: string;
  agent: AgentConfiguration;
}

export function createLlmActivities(dependencies: LlmDependencies) {
  const { openai, chats, usage, eventLog, logger, media } = dependencies;

  /** Streams one hop; see the module comment for retry and cancellation semantics. */
  async function streamCompletion(input: StreamCompletionInput): Promise<HopResult> {
    const context = Context.current();
    const attempt = context.info.attempt;
    const { turnId, hop } = input;
    let lastEventId = '';
    const publish = async (event: StreamEvent) => {
      lastEventId = await eventLog.append(turnId, event);
    };
    // Heartbeats go out on a timer, not per delta: the SDK serialises details on every call, which
    // costs CPU on the hottest path, and Temporal only needs one per heartbeat interval.
    const heartbeatEvery = Math.max(200, Math.floor((context.info.heartbeatTimeoutMs ?? 10_000) / 3));
    const heartbeatTimer = setInterval(() => context.heartbeat({ lastEventId, hop, attempt }), heartbeatEvery);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    try {
      await publish(attempt > 1 ? { kind: 'hop-restart', hop, attempt } : { kind: 'hop-start', hop, attempt });
      const memories = input.memories ?? [];
      if (memories.length > 0) await publish({ kind: 'memory-used', memories });
      const conversation = await chats.loadContext(input.conversationId);
      const systemPrompt = input.fastPath
        ? FAST_PATH_PROMPT
        : composeSystemPrompt(input.agent.systemPrompt, conversation.condensed, formatMemorySection(memories));
      const userContents = media
        ? await userContentsWithAttachments(conversation.messages, media.attachments, {
            workspaceId: input.workspaceId,
            model: input.agent.model,
            visionModels: media.visionModels,
            inlineTextChars: media.inlineTextChars,
          })
        : undefined;
      const messages = toModelMessages(systemPrompt, conversation.messages, input.turnMessages, userContents);
      const tools = input.fastPath ? [] : toolsForAgent(input.agent.allowedTools);
      const stream = await openai.chat.completions.create(
        {
          model: input.agent.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(tools.length > 0 ? { tools } : {}),
          ...(input.agent.temperature !== undefined ? { temperature: input.agent.temperature } : {}),
        },
        { signal: context.cancellationSignal },
      );
      // Off by default: then nothing is added to the per-delta path.
      const deltaPersistence = dependencies.deltaPersistence ?? DELTA_PERSISTENCE_DEFAULTS;
      const deltaBatcher = new DeltaBatcher(chats, deltaPersistence, {
        conversationId: input.conversationId,
        turnId,
        hop,
        attempt,
      });
      // Inline data images are uploaded and published as URLs: the client and the stored answer see the same text.
      const inlineImages = media
        ? new InlineImageRewriter(
            media.generatedImages.rewriterOptions(input.workspaceId, (error, image) =>
              logger.warn({ turnId, hop, attempt, mediaType: image.mediaType, error: String(error) }, 'generated image upload failed; the answer keeps it inline'),
            ),
          )
        : undefined;
      let content = '';
      const emitText = async (text: string) => {
        content += text;
        await publish({ kind: 'text-delta', hop, attempt, delta: text });
        if (deltaPersistence.enabled) await deltaBatcher.add(text);
      };
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
          const text = inlineImages ? await inlineImages.push(delta.content) : delta.content;
          if (text) await emitText(text);
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
      const heldText = inlineImages ? await inlineImages.end() : '';
      if (heldText) await emitText(heldText);
      await deltaBatcher.flush();
      // An aborted request can end the openai stream quietly: a stopped hop must still end as cancelled.
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new CancelledFailure('hop cancelled');
      const latencyMs = Math.round(performance.now() - started);
      const result: HopResult = {
        hop,
        attempt,
        content,
        toolCalls: toolCalls.complete(),
        finishReason,
        usage: { inputTokens, outputTokens },
      };
      for (const call of result.toolCalls) {
        let parsed: unknown = call.arguments;
        try {
          parsed = JSON.parse(call.arguments || '{}');
        } catch {
          // Invalid JSON stays a string: the loop guard turns it into a tool message for the model.
        }
        await publish({ kind: 'tool-input-available', hop, toolCallId: call.id, toolName: call.name, input: parsed });
      }
      if (result.toolCalls.length > 0) {
        const count = result.toolCalls.length;
        await publish({ kind: 'tool-execution-notice', hop, toolCount: count, text: `Executing ${count} tool${count === 1 ? '' : 's'}…` });
      }
      await publish({ kind: 'usage', hop, usage: result.usage });
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

  /**
   * The context guard: when the prompt would exceed 85% of the agent's context window, condense the
   * older messages with the model (keeping the last few verbatim) and persist the result, which this
   * and later turns use instead. Idempotent per turn (the condensed event is keyed by the turn id).
   */
  async function guardContext(input: GuardContextInput): Promise<{ tokens: number; condensed: boolean }> {
    const context = await chats.loadContext(input.conversationId);
    const messages = toModelMessages(composeSystemPrompt(input.agent.systemPrompt, context.condensed, ''), context.messages, []);
    const tokens = countMessageTokens(messages);
    if (!exceedsContextGuard(tokens, input.agent.contextWindow) || context.messages.length <= RECENT_MESSAGES_KEPT) return { tokens, condensed: false };
    const older = context.messages.slice(0, -RECENT_MESSAGES_KEPT);
    const transcript = older.map((message) => `${message.role}: ${messageText(message.parts)}`).join('\n');
    const started = performance.now();
    let completion;
    try {
      completion = await openai.chat.completions.create(
        {
          model: input.agent.model,
          messages: [
            { role: 'system', content: 'Summarize the conversation below in a few sentences. Keep facts, names, decisions and open questions.' },
            ...(context.condensed ? [{ role: 'user' as const, content: `Earlier: ${context.condensed}` }] : []),
            { role: 'user', content: transcript },
          ],
        },
        { signal: Context.current().cancellationSignal },
      );
    } catch (error) {
      throw classifyLlmError(error);
    }
    const condensedText = completion.choices[0]?.message.content ?? '';
    await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'summary',
      role: 'system',
      requestId: `summary:${input.turnId}`,
      turnId: input.turnId,
      content: { text: condensedText },
      extra: { coversThroughSeq: older.at(-1)!.seq, tokensBefore: tokens },
    });
    await usage.recordHop({
      turnId: input.turnId,
      hop: -1,
      attempt: Context.current().info.attempt,
      conversationId: input.conversationId,
      workspaceId: input.agent.workspaceId,
      agentId: input.agent.agentId,
      model: input.agent.model,
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
      latencyMs: Math.round(performance.now() - started),
      byok: dependencies.byok,
    });
    logger.info({ turnId: input.turnId, tokens, condensedMessages: older.length }, 'context condensed');
    return { tokens, condensed: true };
  }

  return { streamCompletion, guardContext };
}
