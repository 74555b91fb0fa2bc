/**
 * The streaming LLM activity: one hop of the turn. It streams the completion through the `openai`
 * client, publishes every delta to the turn's Redis log, heartbeats while it streams, and returns the
 * whole message, in the project's own types, so the workflow can decide what comes next.
 *
 * Retry semantics: a retried attempt (attempt > 1, or a fallback model) publishes `hop-restart`
 * before its first delta, so clients drop the failed attempt's text; the workflow only keeps what the
 * last attempt returns. Only the provider call and its stream are classified as LLM errors; a store
 * or Redis error keeps its own type. Nothing the hop writes to Postgres can fail it: usage is
 * recorded by the workflow (and, for failed attempts, best effort here), so a store failure never
 * re-runs (and re-bills) the model call.
 *
 * Stop: the user's stop reaches the hop over Redis within milliseconds (and through Temporal's
 * cancellation on the heartbeat); the hop aborts the model request and returns what it streamed.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { countTokens } from 'gpt-tokenizer';
import type { ChatRepository } from '../db/chat-repository';
import type { AttemptUsage, UsageRepository } from '../db/usage-repository';
import { classifyLlmError, withRetryBackoff } from '../llm/classify-error';
import { LLM_HOP_MAXIMUM_INTERVAL_MS, LLM_HOP_RETRY } from '../shared/policy';
import { countMessageTokens, exceedsContextGuard, RECENT_MESSAGES_KEPT } from '../llm/context-guard';
import { finishReasonOf } from '../llm/finish-reason';
import { composeSystemPrompt, toModelMessages } from '../llm/model-messages';
import { userContentsWithAttachments } from '../llm/attachment-content';
import type { Attachments } from '../storage/attachments';
import type { GeneratedImages } from '../storage/generated-images';
import { InlineImageRewriter } from '../storage/inline-images';
import { LinkGuard } from '../llm/link-guard';
import { formatMemorySection } from '../memory/memory-prompt';
import { redactCredentials, type LlmClients } from '../llm/connection-clients';
import { toolsForAgent, toolsNamed } from '../tools/registry';
import type { AppActionCatalog } from '../mcp/app-action-catalog';
import { DELTA_PERSISTENCE_DEFAULTS, DeltaBatcher, type DeltaPersistenceOptions } from '../llm/delta-persistence';
import { ToolCallAccumulator } from '../llm/tool-call-accumulator';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import type { StopSignals } from '../stream/stop-signals';
import { INTERRUPTED_TOOL_CALL_TEXT } from '../shared/answer';
import { messageText } from '../shared/messages';
import { requestIds } from '../shared/ids';
import { parseToolArguments } from '../shared/tool-tracker';
import { streamAttempt, type AgentConfiguration, type HopResult, type ToolCall, type TurnMemory, type TurnMessage } from '../shared/turn';

/** The minimal prompt of the fast path: trivial queries get no persona, memory or tools. */
export const FAST_PATH_PROMPT = 'You are a friendly assistant. Answer briefly.';

export interface LlmDependencies {
  /** The function tools of the turn's app actions (the cached MCP catalogue); absent, none are offered. */
  appActions?: Pick<AppActionCatalog, 'functionTools'>;
  /** The `openai` client of each LLM connection version, the deployment's own included (src/llm/connection-clients.ts). */
  clients: LlmClients;
  /** Who serves the deployment's model (for usage rows). */
  provider: string;
  chats: ChatRepository;
  usage: UsageRepository;
  eventLog: EventLog;
  logger: Logger;
  deltaPersistence?: DeltaPersistenceOptions;
  /** Origins answer links and images may point at (default: any link, no external image). */
  answerOrigins?: { linkOrigins: readonly string[]; imageOrigins: readonly string[] };
  /** Redis stop messages; without them a stop arrives through Temporal's cancellation only. */
  stopSignals?: StopSignals;
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
  /** The turn key; with `userMessageId`, what the model's context ends with. */
  requestId?: string;
  userMessageId?: string;
  hop: number;
  agent: AgentConfiguration;
  /** The model of this call: the agent's, or one of its fallback models. */
  model?: string;
  /** 0 for the agent's model, n for its n-th fallback model. */
  fallbackIndex?: number;
  turnMessages: TurnMessage[];
  /** Trivial query: minimal prompt, no tools. */
  fastPath?: boolean;
  /** Memories retrieved for this turn (hop 0 only): injected into the system prompt and reported. */
  memories?: TurnMemory[];
}

export interface GuardContextInput {
  turnId: string;
  conversationId: string;
  requestId?: string;
  userMessageId?: string;
  agent: AgentConfiguration;
}

/** What a hop's heartbeats carry: enough for the next attempt to account for this one if it dies. */
interface HopProgress {
  hop: number;
  attempt: number;
  model: string;
  promptTokens: number;
  outputTokens: number;
}

/** Tokens of a text that only grows, counted on the part appended since the previous call. */
function appendOnlyTokenCounter(): (text: string) => number {
  let counted = 0;
  let tokens = 0;
  return (text) => {
    if (text.length > counted) {
      tokens += countTokens(text.slice(counted));
      counted = text.length;
    }
    return tokens;
  };
}

export function createLlmActivities(dependencies: LlmDependencies) {
  const { clients, chats, usage, eventLog, logger, media } = dependencies;

  /**
   * Records an attempt's usage without ever failing the hop: a store failure must not re-run (and
   * re-bill) the model call. The workflow records completed and stopped attempts again at finalize.
   */
  async function recordAttemptBestEffort(row: AttemptUsage): Promise<void> {
    try {
      await usage.recordAttempt(row);
    } catch (error) {
      logger.error({ turnId: row.turnId, hop: row.hop, attempt: row.attempt, error: String(error) }, 'usage of a failed attempt not recorded');
    }
  }

  /** Streams one hop; see the module comment for retry, stop and error semantics. */
  async function streamCompletion(input: StreamCompletionInput): Promise<HopResult> {
    const context = Context.current();
    const fallbackIndex = input.fallbackIndex ?? 0;
    const attempt = streamAttempt(fallbackIndex, context.info.attempt);
    const model = input.model ?? input.agent.model;
    const provider = input.agent.provider ?? dependencies.provider;
    const byok = input.agent.byok ?? false;
    const { turnId, hop } = input;
    const usageRow = (row: Pick<AttemptUsage, 'attempt' | 'model' | 'inputTokens' | 'outputTokens' | 'latencyMs' | 'timeToFirstTokenMs' | 'estimated' | 'outcome'>): AttemptUsage => ({
      turnId,
      hop,
      conversationId: input.conversationId,
      workspaceId: input.workspaceId,
      agentId: input.agent.agentId,
      provider,
      byok,
      ...(input.agent.connection?.byok ? { connectionId: input.agent.connection.id } : {}),
      ...row,
    });

    // An earlier attempt of this hop died with its worker: its last heartbeat says what it used.
    const lost = context.info.heartbeatDetails as HopProgress | undefined;
    if (lost && typeof lost.attempt === 'number' && lost.hop === hop) {
      await recordAttemptBestEffort(usageRow({ attempt: lost.attempt, model: lost.model, inputTokens: lost.promptTokens, outputTokens: lost.outputTokens, latencyMs: 0, estimated: true, outcome: 'lost' }));
    }

    const stop = dependencies.stopSignals?.watch(turnId);
    const signal = stop ? AbortSignal.any([context.cancellationSignal, stop.signal]) : context.cancellationSignal;
    const publish = eventLog.publisher(turnId, { name: `hop:${hop}`, attempt });
    let messages: ChatCompletionMessageParam[] = [];
    let content = '';
    let toolArgumentsText = '';
    let promptTokens = 0;
    // The streamed text only grows: each heartbeat counts what was added since the last, not the whole answer again.
    const contentTokens = appendOnlyTokenCounter();
    const toolArgumentTokens = appendOnlyTokenCounter();
    const progress = (): HopProgress => {
      promptTokens ||= messages.length > 0 ? countMessageTokens(messages) : 0;
      return { hop, attempt, model, promptTokens, outputTokens: contentTokens(content) + toolArgumentTokens(toolArgumentsText) };
    };
    // Heartbeats go out on a timer, not per delta: the SDK serialises details on every call, which
    // costs CPU on the hottest path, and Temporal only needs one per heartbeat interval.
    const heartbeatEvery = Math.max(200, Math.floor((context.info.heartbeatTimeoutMs ?? 10_000) / 3));
    const heartbeatTimer = setInterval(() => context.heartbeat(progress()), heartbeatEvery);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    const toolCalls = new ToolCallAccumulator();

    /** Ends a hop stopped by the user in the stream: unfinished tool calls as errors, then the step. */
    const endStoppedHop = async (): Promise<HopResult> => {
      const interrupted = toolCalls.startedCalls().map((call) => ({ id: call.id, name: call.name, input: call.arguments }));
      for (const call of interrupted) {
        await publish({ kind: 'tool-input-error', hop, toolCallId: call.id, toolName: call.name, input: call.input, errorText: INTERRUPTED_TOOL_CALL_TEXT });
      }
      await publish({ kind: 'hop-end', hop, attempt, finishReason: 'cancelled' });
      const estimate = progress();
      logger.info({ turnId, hop, attempt, characters: content.length }, 'hop stopped');
      return {
        hop,
        attempt,
        model,
        content,
        toolCalls: [],
        finishReason: 'cancelled',
        usage: { inputTokens: estimate.promptTokens, outputTokens: estimate.outputTokens },
        usageEstimated: true,
        stopped: true,
        ...(interrupted.length > 0 ? { interruptedToolCalls: interrupted } : {}),
        latencyMs: Math.round(performance.now() - started),
        ...(firstTokenAt !== undefined ? { timeToFirstTokenMs: Math.round(firstTokenAt - started) } : {}),
      };
    };

    /**
     * The hop stopped by the user returns what it streamed (the partial answer) at once, so the turn
     * ends within moments of the stop. When Temporal's cancellation is what stopped it, it ends as
     * cancelled in history instead, carrying the same partial hop in the cancellation's details.
     */
    const stoppedResult = async (): Promise<HopResult> => {
      const partial = await endStoppedHop();
      if (context.cancellationDetails?.cancelRequested) throw new CancelledFailure('Stopped by the user', [partial]);
      return partial;
    };

    // A worker shutting down cancels its activities too: that hop must be retried elsewhere, not stopped.
    const wasStopped = () => signal.aborted && !context.cancellationDetails?.workerShutdown;

    // The key and header values this hop sends: a provider's error text that repeats them is redacted.
    let credentials: readonly string[] = [];
    try {
      // The client of the connection version the turn was activated with (no secret in history).
      const openai = await clients.clientFor(input.workspaceId, input.agent.connection);
      credentials = clients.credentialsOf(openai);
      const memories = input.memories ?? [];
      const appActions = input.agent.appActions;
      // The hop's conversation and its app actions' tool descriptions are read while its opening
      // events go out: round trips on the path to the first token, side by side. The events go out
      // first either way, so nothing this hop publishes after a failed read comes before them.
      const reads = Promise.all([
        chats.loadContext(input.conversationId, input.userMessageId ? { userMessageId: input.userMessageId } : {}),
        // App actions resolved at activation, described from the cached catalogue (never a live server).
        input.fastPath || !dependencies.appActions ? [] : dependencies.appActions.functionTools(input.workspaceId, input.agent.appActions),
      ]);
      reads.catch(() => undefined); // awaited below; a failed publish must not leave its failure unhandled
      await publish(attempt > 1 ? { kind: 'hop-restart', hop, attempt } : { kind: 'hop-start', hop, attempt });
      if (memories.length > 0) await publish({ kind: 'memory-used', memories });
      if (hop === 0 && appActions && !input.fastPath) {
        await publish({ kind: 'app-actions', tier: appActions.tier, actions: appActions.actions, ...(appActions.megaTool ? { megaToolHints: appActions.megaTool.hints } : {}) });
      }
      const [conversation, appTools] = await reads;
      const systemPrompt = input.fastPath ? FAST_PATH_PROMPT : composeSystemPrompt(input.agent.systemPrompt, conversation.condensed, formatMemorySection(memories));
      const userContents = media
        ? await userContentsWithAttachments(conversation.messages, media.attachments, {
            workspaceId: input.workspaceId,
            model,
            visionModels: media.visionModels,
            inlineTextChars: media.inlineTextChars,
          })
        : undefined;
      messages = toModelMessages(systemPrompt, conversation.messages, input.turnMessages, conversation.toolResults, userContents);
      // The tools chosen at activation for this turn; turns recorded before tool selection offer every allowed tool.
      const selection = input.agent.toolSelection;
      const builtInTools = input.fastPath ? [] : selection ? toolsNamed(selection.tools.map((tool) => tool.name), input.agent.allowedTools) : toolsForAgent(input.agent.allowedTools);
      const tools = [...builtInTools, ...appTools];
      const deltaBatcher = new DeltaBatcher(chats, dependencies.deltaPersistence ?? DELTA_PERSISTENCE_DEFAULTS, logger, {
        conversationId: input.conversationId,
        turnId,
        requestIdOf: (batch) => requestIds.deltaBatch(input.requestId ?? turnId, hop, attempt, batch),
        hop,
        attempt,
      });

      // The error boundary: only the provider request and reading its stream are classified.
      let stream: AsyncIterator<OpenAI.Chat.Completions.ChatCompletionChunk>;
      try {
        const response = await openai.chat.completions.create(
          {
            model,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            ...(tools.length > 0 ? { tools } : {}),
            ...(input.agent.temperature !== undefined ? { temperature: input.agent.temperature } : {}),
          },
          { signal },
        );
        stream = response[Symbol.asyncIterator]();
      } catch (error) {
        if (wasStopped()) return await stoppedResult();
        throw redactCredentials(classifyLlmError(error, { partialText: content }), credentials);
      }

      // Inline data images are uploaded and published as URLs: the client and the stored answer see the same text.
      const inlineImages = media
        ? new InlineImageRewriter(
            media.generatedImages.rewriterOptions(input.workspaceId, (error, image) =>
              logger.warn({ turnId, hop, attempt, mediaType: image.mediaType, error: String(error) }, 'generated image upload failed; the answer keeps it inline'),
            ),
          )
        : undefined;
      // Link and image targets outside the allowed origins are replaced before anything goes out.
      const links = new LinkGuard({
        ...(dependencies.answerOrigins ?? { linkOrigins: ['*'], imageOrigins: [] }),
        onBlocked: (target, kind) => logger.warn({ turnId, hop, attempt, kind, target: target.slice(0, 200) }, 'answer link target blocked: origin not allowed'),
      });
      const emitText = async (raw: string) => {
        const text = links.push(raw);
        if (!text) return;
        content += text;
        // Not awaited: deltas that arrive while a write is in flight go out together in the next one.
        await publish.enqueue({ kind: 'text-delta', hop, attempt, delta: text });
        if (deltaBatcher.enabled) await deltaBatcher.add(text);
      };
      let providerFinishReason: string | null = null;
      let providerUsage: { inputTokens: number; outputTokens: number } | undefined;
      for (;;) {
        let next: IteratorResult<OpenAI.Chat.Completions.ChatCompletionChunk>;
        try {
          next = await stream.next();
        } catch (error) {
          if (wasStopped()) return await stoppedResult();
          throw redactCredentials(classifyLlmError(error, { partialText: content }), credentials);
        }
        if (next.done) break;
        const chunk = next.value;
        if (chunk.usage) providerUsage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          firstTokenAt ??= performance.now();
          const text = inlineImages ? await inlineImages.push(delta.content) : delta.content;
          if (text) await emitText(text);
        }
        for (const fragment of delta?.tool_calls ?? []) {
          if (fragment.function?.arguments) toolArgumentsText += fragment.function.arguments;
          for (const change of toolCalls.add(fragment)) {
            if (change.kind === 'start') {
              await publish.enqueue({ kind: 'tool-input-start', hop, attempt, toolCallId: change.id, toolName: change.name });
              if (change.arguments) await publish.enqueue({ kind: 'tool-input-delta', hop, attempt, toolCallId: change.id, delta: change.arguments });
            } else {
              await publish.enqueue({ kind: 'tool-input-delta', hop, attempt, toolCallId: change.id, delta: change.delta });
            }
          }
        }
        if (choice.finish_reason) providerFinishReason = choice.finish_reason;
      }
      const heldText = inlineImages ? await inlineImages.end() : '';
      if (heldText) await emitText(heldText);
      const heldTarget = links.end();
      if (heldTarget) {
        content += heldTarget;
        await publish({ kind: 'text-delta', hop, attempt, delta: heldTarget });
      }
      await deltaBatcher.flush();
      // An aborted request can end the openai stream quietly: a stopped hop must still end as stopped.
      if (wasStopped()) return await stoppedResult();
      if (signal.aborted) throw signal.reason ?? new Error('hop aborted');

      const calls: ToolCall[] = toolCalls.complete().map((call) => ({ ...call, input: parseToolArguments(call.arguments) }));
      const estimated = providerUsage === undefined;
      const estimate = providerUsage ? undefined : progress();
      const hopUsage = providerUsage ?? { inputTokens: estimate!.promptTokens, outputTokens: estimate!.outputTokens };
      for (const call of calls) {
        await publish({ kind: 'tool-input-available', hop, attempt, toolCallId: call.id, toolName: call.name, input: call.input.ok ? call.input.value : call.arguments });
      }
      if (calls.length > 0) {
        await publish({ kind: 'tool-execution-notice', hop, attempt, toolCount: calls.length, text: `Executing ${calls.length} tool${calls.length === 1 ? '' : 's'}…` });
      }
      const finishReason = finishReasonOf(providerFinishReason);
      await publish({ kind: 'usage', hop, attempt, usage: hopUsage });
      await publish({ kind: 'hop-end', hop, attempt, finishReason });
      const latencyMs = Math.round(performance.now() - started);
      const timeToFirstTokenMs = firstTokenAt === undefined ? undefined : Math.round(firstTokenAt - started);
      // Visible in usage right away; the workflow records it again at finalize (idempotently) should
      // this write not have made it.
      await recordAttemptBestEffort(
        usageRow({ attempt, model, inputTokens: hopUsage.inputTokens, outputTokens: hopUsage.outputTokens, latencyMs, estimated, outcome: 'completed', ...(timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs } : {}) }),
      );
      logger.info({ turnId, hop, attempt, model, latencyMs, outputTokens: hopUsage.outputTokens, finishReason }, 'hop streamed');
      return {
        hop,
        attempt,
        model,
        content,
        toolCalls: calls,
        finishReason,
        usage: hopUsage,
        ...(estimated ? { usageEstimated: true } : {}),
        latencyMs,
        ...(timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs } : {}),
      };
    } catch (error) {
      if (wasStopped()) return await stoppedResult();
      // Every attempt is paid for: a failed one is recorded with its estimated tokens.
      if (messages.length > 0) {
        const estimate = progress();
        await recordAttemptBestEffort(
          usageRow({ attempt, model, inputTokens: estimate.promptTokens, outputTokens: estimate.outputTokens, latencyMs: Math.round(performance.now() - started), estimated: true, outcome: 'failed' }),
        );
      }
      logger.warn({ turnId, hop, attempt, model, type: (error as { type?: string }).type, error: error instanceof Error ? error.message : String(error) }, 'hop failed');
      throw error;
    } finally {
      clearInterval(heartbeatTimer);
      stop?.dispose();
      // Whatever was queued is written (or fenced off) before the attempt ends: a retry's events never precede it.
      await publish.flush().catch(() => undefined);
    }
  }

  /**
   * The context guard: when the prompt would exceed 85% of the agent's context window, condense the
   * older messages with the model (keeping the last few verbatim) and persist the result, which this
   * and later turns use instead. Idempotent per turn (the condensed event is keyed by the turn).
   */
  async function guardContext(input: GuardContextInput): Promise<{ tokens: number; condensed: boolean }> {
    const summaryRequestId = requestIds.summary(input.requestId ?? input.turnId);
    // A retry after the summary was stored must not call (and pay for) the model again.
    if (await chats.findEventByRequestId(input.conversationId, summaryRequestId)) return { tokens: 0, condensed: true };
    const context = await chats.loadContext(input.conversationId, input.userMessageId ? { userMessageId: input.userMessageId } : {});
    const messages = toModelMessages(composeSystemPrompt(input.agent.systemPrompt, context.condensed, ''), context.messages, [], context.toolResults);
    const tokens = countMessageTokens(messages);
    if (!exceedsContextGuard(tokens, input.agent.contextWindow) || context.messages.length <= RECENT_MESSAGES_KEPT) return { tokens, condensed: false };
    const older = context.messages.slice(0, -RECENT_MESSAGES_KEPT);
    const transcript = older.map((message) => `${message.role}: ${messageText(message.parts)}`).join('\n');
    const started = performance.now();
    const openai = await clients.clientFor(input.agent.workspaceId, input.agent.connection);
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
      throw redactCredentials(classifyLlmError(error), clients.credentialsOf(openai));
    }
    const condensedText = completion.choices[0]?.message.content ?? '';
    await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'summary',
      role: 'system',
      requestId: summaryRequestId,
      turnId: input.turnId,
      content: { text: condensedText },
      extra: { coversThroughSeq: older.at(-1)!.seq, tokensBefore: tokens },
    });
    await recordAttemptBestEffort({
      turnId: input.turnId,
      hop: -1,
      attempt: Context.current().info.attempt,
      conversationId: input.conversationId,
      workspaceId: input.agent.workspaceId,
      agentId: input.agent.agentId,
      model: input.agent.model,
      provider: input.agent.provider ?? dependencies.provider,
      byok: input.agent.byok ?? false,
      ...(input.agent.connection?.byok ? { connectionId: input.agent.connection.id } : {}),
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
      latencyMs: Math.round(performance.now() - started),
      estimated: completion.usage === undefined,
      outcome: 'completed',
    });
    logger.info({ turnId: input.turnId, tokens, condensedMessages: older.length }, 'context condensed');
    return { tokens, condensed: true };
  }

  /**
   * A hop whose policy restarts lost attempts quickly (`llmRetry.restartIntervalMs`) paces its own
   * failures with the agent's backoff, so a provider in trouble is not called again at once.
   */
  async function streamCompletionWithBackoff(input: StreamCompletionInput): Promise<HopResult> {
    try {
      return await streamCompletion(input);
    } catch (error) {
      const retry = input.agent.llmRetry;
      if (retry?.restartIntervalMs === undefined) throw error;
      throw withRetryBackoff(error, {
        initialIntervalMs: retry.initialIntervalMs,
        backoffCoefficient: LLM_HOP_RETRY.backoffCoefficient ?? 2,
        maximumIntervalMs: LLM_HOP_MAXIMUM_INTERVAL_MS,
        attempt: Context.current().info.attempt,
      });
    }
  }

  return { streamCompletion: streamCompletionWithBackoff, guardContext };
}
