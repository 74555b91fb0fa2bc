/**
 * Activities that read and write Postgres (and publish the closing events of a turn). They run as
 * local activities with the bounded retry policy `STORE_STEP`.
 *
 * Every write is idempotent on a request id (namespaced by `requestIds`), so a retried activity
 * writes nothing twice.
 */
import { Context } from '@temporalio/activity';
import type { ActivationObserver, AgentActivationRequest, AgentActivator } from '../agents/agent-activation';
import type { ChatRepository } from '../db/chat-repository';
import type { UsageRepository } from '../db/usage-repository';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import { requestIds } from '../shared/ids';
import { messageText, type MessagePart, type StoredMessage } from '../shared/messages';
import { citedSources } from '../shared/sources';
import type { FinishReason, StreamEvent, TokenUsage } from '../shared/stream-events';
import { CACHED_ANSWER_ATTEMPT, type AgentConfiguration, type RecordedToolResult } from '../shared/turn';

export interface StoreDependencies {
  chats: ChatRepository;
  /** Resolves agents with their connection, skills and tool selection (src/agents/agent-activation.ts). */
  agents: AgentActivator;
  usage: UsageRepository;
  eventLog: EventLog;
  logger: Logger;
  /** Who serves the deployment's model, for agents on the deployment's connection. */
  provider: string;
}

export interface PersistUserMessageInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  message: StoredMessage;
}

/** The agent, the LLM choice, and what tool selection needs: the message, the fast path, the request's hints. */
export type ActivateAgentInput = AgentActivationRequest;

/** One attempt's usage as the workflow collected it from the hops it ran. */
export interface HopUsageRecord {
  hop: number;
  attempt: number;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  estimated: boolean;
  outcome: 'completed' | 'cancelled';
}

export interface FinalizeTurnInput {
  turnId: string;
  conversationId: string;
  /** The turn key. */
  requestId: string;
  messageId: string;
  /** The user message this answer answers. */
  userMessageId?: string;
  workspaceId?: string;
  agentId?: string;
  provider?: string;
  byok?: boolean;
  model: string;
  /** The answer's parts as the workflow's `AnswerBuilder` assembled them. */
  parts: MessagePart[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** Every attempt the workflow saw complete or stop; recorded here, idempotently. */
  hopUsages?: HopUsageRecord[];
  errorText?: string;
  /** The tool-round limit's notice: already in `parts`, still to be streamed. */
  warning?: { hop: number; text: string };
  /** The answer came from an earlier turn's stored answer (every model failed). */
  cached?: boolean;
}

export interface RecordToolResultsInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  hop: number;
  results: RecordedToolResult[];
  /**
   * Each result's position in its round (the `<i>` of its request id), when not all of the round is
   * recorded here (since `turn-start-v1`, a tool call that runs records its own result). Absent: 0, 1, 2…
   */
  positions?: number[];
}

export interface PublishApprovalRequestsInput {
  turnId: string;
  /** Absent in turns recorded before the conversation event stream. */
  conversationId?: string;
  hop: number;
  requests: Array<{ approvalId: string; toolCallId: string; toolName: string }>;
}

export interface PublishApprovalResponsesInput {
  turnId: string;
  conversationId?: string;
  hop: number;
  responses: Array<{ approvalId: string; toolCallId: string; approved: boolean; reason?: string }>;
}

export interface RecordSteeringInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  hop: number;
  messages: Array<{ id: string; text: string }>;
}

export interface AnswerFromCacheInput {
  turnId: string;
  conversationId: string;
  userMessageId: string;
  /** The hop that failed: the cached answer is streamed in its place. */
  hop: number;
}

export function createStoreActivities(dependencies: StoreDependencies) {
  const { chats, usage, eventLog, logger } = dependencies;

  /** Persists the user's message; idempotent on the request id (a retry finds the first row). */
  async function persistUserMessage(input: PersistUserMessageInput): Promise<{ seq: number; created: boolean }> {
    const { row, created } = await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'message',
      role: 'user',
      requestId: requestIds.userMessage(input.message.id),
      messageId: input.message.id,
      turnId: input.turnId,
      content: { parts: input.message.parts },
    });
    logger.info({ turnId: input.turnId, seq: row.seq, created }, 'user message persisted');
    return { seq: row.seq, created };
  }

  /**
   * Loads the agent's configuration for this turn: model, fallbacks and connection, persona merged
   * with its skills, tools selected for the message, limits. No secret is returned: the LLM activity
   * resolves credentials itself, so none lands in workflow history. Read-only, so a retry is harmless.
   */
  async function activateAgent(input: ActivateAgentInput, observer?: ActivationObserver): Promise<AgentConfiguration> {
    const agent = await dependencies.agents.activate(input, observer);
    logger.info(
      { agentId: agent.agentId, model: agent.model, connectionId: agent.connection?.id, skills: agent.skills?.length ?? 0, tools: agent.toolSelection?.tools.length ?? 0 },
      'agent activated',
    );
    return agent;
  }

  /**
   * Persists the final assistant message and the usage of every attempt, then publishes the turn's
   * closing events. Idempotent: the message is keyed by the turn, usage rows by (turn, hop, attempt);
   * a repeated `turn-finish` is harmless because the bridge ends the stream at the first one.
   */
  async function finalizeTurn(input: FinalizeTurnInput): Promise<{ seq: number }> {
    const { row } = await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'message',
      role: 'assistant',
      requestId: requestIds.answer(input.requestId),
      messageId: input.messageId,
      turnId: input.turnId,
      content: { parts: input.parts },
      extra: {
        finishReason: input.finishReason,
        usage: input.usage,
        model: input.model,
        ...(input.userMessageId ? { userMessageId: input.userMessageId } : {}),
        ...(input.errorText ? { error: input.errorText } : {}),
        ...(input.cached ? { cached: true } : {}),
      },
    });
    for (const attempt of input.hopUsages ?? []) {
      await usage.recordAttempt({
        turnId: input.turnId,
        conversationId: input.conversationId,
        workspaceId: input.workspaceId ?? '',
        ...(input.agentId ? { agentId: input.agentId } : {}),
        provider: input.provider ?? dependencies.provider,
        byok: input.byok ?? false,
        ...attempt,
      });
    }
    await chats.deleteDeltaEvents(input.conversationId, input.turnId);
    // Numbered, so a retried finalize streams nothing twice.
    const publish = eventLog.publisher(input.turnId, { name: 'finish', attempt: 1 });
    if (input.warning) {
      await publish({ kind: 'text-delta', hop: input.warning.hop, attempt: 0, delta: input.warning.text });
      await publish({ kind: 'warning', hop: input.warning.hop, text: input.warning.text });
    }
    if (input.errorText) await publish({ kind: 'error', errorText: input.errorText });
    await publish({ kind: 'turn-finish', finishReason: input.finishReason, usage: input.usage, ...(input.cached ? { cached: true } : {}) });
    await eventLog.publishConversationEvent(input.conversationId, `finish:${input.turnId}`, 'turn-finished', input.turnId, { finishReason: input.finishReason, messageId: input.messageId });
    logger.info({ turnId: input.turnId, seq: row.seq, finishReason: input.finishReason }, 'turn finalized');
    return { seq: row.seq };
  }

  /**
   * Records a fresh start ("start over", "new topic"): earlier messages stay stored but are no longer
   * sent to the model. Written before the user message, so that message opens the new context.
   */
  async function recordContextReset(input: { turnId: string; conversationId: string; requestId: string }): Promise<void> {
    await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'context-reset',
      role: 'system',
      requestId: requestIds.contextReset(input.requestId),
      turnId: input.turnId,
      content: {},
    });
  }

  /**
   * Persists a round's tool results, each under the seed's request id `tool:<request>:<hop>:<i>` so
   * later turns give them to the model, and streams them to the client, with the document passages a
   * knowledge tool returned as `source-cited` events (the answer builder stores the same parts).
   * Idempotent: a retry finds the rows it wrote; a repeated output event only sets the same output.
   */
  async function recordToolResults(input: RecordToolResultsInput): Promise<void> {
    const positions = input.positions ?? input.results.map((_, index) => index);
    for (const [index, result] of input.results.entries()) {
      await chats.appendEvent({
        conversationId: input.conversationId,
        type: 'tool-result',
        role: 'tool',
        requestId: requestIds.toolResult(input.requestId, input.hop, positions[index]!),
        turnId: input.turnId,
        content: {
          toolCallId: result.toolCallId,
          toolName: result.toolName,
          content: result.content,
          isError: result.isError,
          ...(result.arguments !== undefined ? { arguments: result.arguments } : {}),
        },
        extra: { decision: result.decision, hop: input.hop, ...(result.approval ? { approval: result.approval } : {}) },
      });
    }
    // Numbered per round, or per position when results of one round are recorded apart.
    const publish = eventLog.publisher(input.turnId, { name: input.positions ? `tools:${input.hop}:${positions.join(',')}` : `tools:${input.hop}`, attempt: 1 });
    for (const result of input.results) {
      if (result.decision === 'denied') {
        await publish({ kind: 'tool-output-denied', hop: input.hop, toolCallId: result.toolCallId, ...(result.approval?.reason ? { reason: result.approval.reason } : {}) });
        continue;
      }
      await publish(
        result.isError
          ? { kind: 'tool-output-error', hop: input.hop, toolCallId: result.toolCallId, errorText: result.content }
          : { kind: 'tool-output-available', hop: input.hop, toolCallId: result.toolCallId, output: result.output },
      );
      if (!result.isError) {
        for (const source of citedSources(result.toolName, result.output)) await eventLog.append(input.turnId, { kind: 'source-cited', hop: input.hop, source });
      }
    }
  }

  /**
   * The seed's graceful degradation when every model failed: the answer an earlier turn stored for the
   * same user message, streamed in place of the failed hop (clients drop the failed attempt's text),
   * or null when there is none.
   */
  async function answerFromCache(input: AnswerFromCacheInput): Promise<{ text: string } | null> {
    const stored = await chats.latestAnswerTo(input.conversationId, input.userMessageId, input.turnId);
    const text = stored ? messageText((stored.content.parts ?? []) as MessagePart[]) : '';
    if (!text) return null;
    const events: StreamEvent[] = [
      { kind: 'hop-restart', hop: input.hop, attempt: CACHED_ANSWER_ATTEMPT },
      { kind: 'text-delta', hop: input.hop, attempt: CACHED_ANSWER_ATTEMPT, delta: text },
      { kind: 'hop-end', hop: input.hop, attempt: CACHED_ANSWER_ATTEMPT, finishReason: 'stop' },
    ];
    const publish = eventLog.publisher(input.turnId, { name: `hop:${input.hop}`, attempt: CACHED_ANSWER_ATTEMPT });
    for (const event of events) await publish(event);
    logger.warn({ turnId: input.turnId, cachedFrom: stored!.turnId }, 'every model failed: answering with the stored answer');
    return { text };
  }

  /** Streams a notice mid-turn (a spend cap getting close); numbered, so a retry streams it once. */
  async function publishNotice(input: { turnId: string; hop: number; text: string }): Promise<void> {
    await eventLog.publisher(input.turnId, { name: `notice:${input.hop}`, attempt: 1 })({ kind: 'warning', hop: input.hop, text: input.text });
  }

  /**
   * Streams a round's approval requests, then the pause (a client that answers with its next request
   * stops reading there). Numbered per hop, so a retry streams them once; the requests stay in the
   * turn's log, so a refresh shows them again.
   */
  async function publishApprovalRequests(input: PublishApprovalRequestsInput): Promise<void> {
    const publish = eventLog.publisher(input.turnId, { name: `approval:${input.hop}`, attempt: 1 });
    for (const request of input.requests) await publish({ kind: 'tool-approval-request', hop: input.hop, ...request });
    await publish({ kind: 'turn-awaiting-approval', hop: input.hop, approvalIds: input.requests.map((request) => request.approvalId) });
    if (input.conversationId) {
      await eventLog.publishConversationEvent(input.conversationId, `approval:${input.turnId}:${input.hop}`, 'turn-awaiting-approval', input.turnId, {
        approvals: input.requests.map(({ approvalId, toolCallId, toolName }) => ({ approvalId, toolCallId, toolName })),
      });
    }
    logger.info({ turnId: input.turnId, hop: input.hop, approvals: input.requests.length }, 'tool calls wait for approval');
  }

  /** Streams the answers of a round's approvals (given by the user, or denied by the timeout). */
  async function publishApprovalResponses(input: PublishApprovalResponsesInput): Promise<void> {
    const publish = eventLog.publisher(input.turnId, { name: `approval-answer:${input.hop}`, attempt: 1 });
    for (const response of input.responses) await publish({ kind: 'tool-approval-response', hop: input.hop, ...response });
    if (input.conversationId) {
      await eventLog.publishConversationEvent(input.conversationId, `approval-answer:${input.turnId}:${input.hop}`, 'turn-approval-answered', input.turnId, { answers: input.responses });
    }
  }

  /**
   * Keeps steering messages in the conversation (user messages, in the order they reached the turn)
   * and streams them; idempotent on the message id.
   */
  async function recordSteering(input: RecordSteeringInput): Promise<void> {
    const publish = eventLog.publisher(input.turnId, { name: `steering:${input.hop}`, attempt: 1 });
    for (const message of input.messages) {
      await chats.appendEvent({
        conversationId: input.conversationId,
        type: 'message',
        role: 'user',
        requestId: `steer:${input.requestId}:${message.id}`,
        messageId: message.id,
        turnId: input.turnId,
        content: { parts: [{ type: 'text', text: message.text }] },
        extra: { steering: true, hop: input.hop },
      });
      await publish({ kind: 'steering-message', hop: input.hop, id: message.id, text: message.text });
      await eventLog.publishConversationEvent(input.conversationId, `steering:${input.turnId}:${message.id}`, 'turn-steered', input.turnId, { id: message.id, text: message.text });
    }
  }

  /** Streams that the turn waits for an earlier one, or that it starts now. */
  async function publishQueueState(input: { turnId: string; conversationId?: string; behindTurnId: string; phase: 'queued' | 'dequeued' }): Promise<void> {
    await eventLog.publisher(input.turnId, { name: `queue:${input.phase}`, attempt: 1 })(
      input.phase === 'queued' ? { kind: 'turn-queued', behindTurnId: input.behindTurnId } : { kind: 'turn-dequeued' },
    );
    if (input.conversationId) {
      await eventLog.publishConversationEvent(input.conversationId, `${input.phase}:${input.turnId}`, input.phase === 'queued' ? 'turn-queued' : 'turn-dequeued', input.turnId, { behindTurnId: input.behindTurnId });
    }
  }

  /**
   * Waits until an earlier turn of the conversation stored its answer (busy policy `queue`), polling
   * and heartbeating; a retry on another worker goes on waiting. After 30 minutes it gives up waiting.
   */
  async function awaitTurnEnd(input: { conversationId: string; turnId: string }): Promise<{ waitedMs: number; gaveUp: boolean }> {
    const started = Date.now();
    const context = Context.current();
    for (;;) {
      if (await chats.turnAnswered(input.conversationId, input.turnId)) return { waitedMs: Date.now() - started, gaveUp: false };
      if (Date.now() - started > 30 * 60_000) {
        logger.warn({ turnId: input.turnId }, 'queued turn: the running turn never ended; starting anyway');
        return { waitedMs: Date.now() - started, gaveUp: true };
      }
      context.heartbeat();
      await context.sleep(250);
    }
  }

  return {
    awaitTurnEnd,
    persistUserMessage,
    activateAgent,
    finalizeTurn,
    recordContextReset,
    recordToolResults,
    answerFromCache,
    publishNotice,
    publishApprovalRequests,
    publishApprovalResponses,
    recordSteering,
    publishQueueState,
  };
}
