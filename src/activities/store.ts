/**
 * Activities that read and write Postgres (and publish the closing events of a turn).
 *
 * Every write is idempotent on a request id, so a retried activity writes nothing twice.
 */
import type { ChatRepository } from '../db/chat-repository';
import type { WorkspaceRepository } from '../db/workspace-repository';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import type { MessagePart, StoredMessage } from '../shared/messages';
import { citedSources, withSourceParts } from '../shared/sources';
import type { FinishReason, StreamEvent, TokenUsage } from '../shared/stream-events';
import type { AgentConfiguration, RecordedToolResult } from '../shared/turn';
import { ApplicationFailure } from '@temporalio/common';

export interface StoreDependencies {
  chats: ChatRepository;
  workspaces: WorkspaceRepository;
  eventLog: EventLog;
  logger: Logger;
  defaultModel: string;
}

export interface PersistUserMessageInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  message: StoredMessage;
}

export interface ActivateAgentInput {
  workspaceId: string;
  agentId?: string;
  useSystemLlm?: boolean;
}

export interface FinalizeTurnInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  messageId: string;
  model: string;
  /** The answer's parts as the workflow assembled them (steps, text, tool calls). */
  parts: MessagePart[];
  finishReason: FinishReason;
  usage: TokenUsage;
  errorText?: string;
  /**
   * The hop that was streaming when the turn stopped: its text never reached the workflow, so the
   * partial answer is rebuilt from the replay log (the last attempt's deltas of that hop).
   */
  partialHop?: number;
  /** The hop-limit warning: already in `parts`, still to be streamed to the client. */
  warningText?: string;
  warningHop?: number;
}

export interface RecordToolResultsInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  hop: number;
  results: RecordedToolResult[];
}

/** The text the last attempt of `hop` streamed, as recorded in the replay log. */
export function partialHopText(events: readonly { event: StreamEvent }[], hop: number): string {
  let attempt = 0;
  let text = '';
  for (const { event } of events) {
    if ((event.kind === 'hop-start' || event.kind === 'hop-restart') && event.hop === hop && event.attempt > attempt) {
      attempt = event.attempt;
      text = '';
    } else if (event.kind === 'text-delta' && event.hop === hop && event.attempt === attempt) {
      text += event.delta;
    }
  }
  return text;
}

export function createStoreActivities(dependencies: StoreDependencies) {
  const { chats, workspaces, eventLog, logger } = dependencies;

  /** Persists the user's message; idempotent on the request id (a retry finds the first row). */
  async function persistUserMessage(input: PersistUserMessageInput): Promise<{ seq: number; created: boolean }> {
    const { row, created } = await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'message',
      role: 'user',
      requestId: input.requestId,
      messageId: input.message.id,
      turnId: input.turnId,
      content: { parts: input.message.parts },
    });
    logger.info({ turnId: input.turnId, seq: row.seq, created }, 'user message persisted');
    return { seq: row.seq, created };
  }

  /**
   * Loads the agent's configuration for this turn: model, persona, tools, limits. No secret is
   * returned: the LLM activity resolves credentials itself, so none lands in workflow history.
   */
  async function activateAgent(input: ActivateAgentInput): Promise<AgentConfiguration> {
    const agent = await workspaces.findAgent(input.workspaceId, input.agentId);
    if (!agent) {
      throw ApplicationFailure.nonRetryable(`Agent ${input.agentId ?? '(default)'} not found in workspace`, 'AgentNotFound');
    }
    return {
      agentId: agent.id,
      workspaceId: agent.workspaceId,
      name: agent.name,
      model: input.useSystemLlm || !agent.model ? dependencies.defaultModel : agent.model,
      systemPrompt: agent.systemPrompt,
      ...(agent.temperature !== null ? { temperature: agent.temperature } : {}),
      maxHops: agent.maxHops,
      allowedTools: agent.allowedTools,
      contextWindow: agent.contextWindow,
      memoryEnabled: agent.memoryEnabled,
      llmRetry: { maximumAttempts: agent.llmMaxAttempts, initialIntervalMs: agent.llmInitialRetryIntervalMs },
    };
  }

  /**
   * Persists the final assistant message and publishes the turn's closing events. Idempotent: the
   * message is keyed by the request id; a repeated `turn-finish` is harmless because the bridge
   * ends the stream at the first one.
   */
  async function finalizeTurn(input: FinalizeTurnInput): Promise<{ seq: number }> {
    // Cited passages follow the tool call that found them, as in the stream (recordToolResults).
    const parts: MessagePart[] = withSourceParts(input.parts);
    if (input.partialHop !== undefined) {
      const partial = partialHopText(await eventLog.readAfter(input.turnId), input.partialHop);
      if (partial) parts.push({ type: 'step-start' }, { type: 'text', text: partial });
    }
    const { row } = await chats.appendEvent({
      conversationId: input.conversationId,
      type: 'message',
      role: 'assistant',
      requestId: `${input.requestId}:assistant`,
      messageId: input.messageId,
      turnId: input.turnId,
      content: { parts },
      extra: { finishReason: input.finishReason, usage: input.usage, model: input.model, ...(input.errorText ? { error: input.errorText } : {}) },
    });
    await chats.deleteDeltaEvents(input.conversationId, input.turnId);
    if (input.warningText !== undefined) {
      const hop = input.warningHop ?? 0;
      await eventLog.append(input.turnId, { kind: 'text-delta', hop, attempt: 0, delta: input.warningText });
      await eventLog.append(input.turnId, { kind: 'warning', hop, text: input.warningText });
    }
    if (input.errorText) await eventLog.append(input.turnId, { kind: 'error', errorText: input.errorText });
    await eventLog.append(input.turnId, { kind: 'turn-finish', finishReason: input.finishReason, usage: input.usage });
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
      requestId: `reset:${input.requestId}`,
      turnId: input.turnId,
      content: {},
    });
  }

  /**
   * Persists a hop's tool results (each under its own request id) and streams them to the client,
   * with the document passages a knowledge tool returned as `source-cited` events.
   * Idempotent: a retry finds the rows it wrote; a repeated output event only sets the same output.
   */
  async function recordToolResults(input: RecordToolResultsInput): Promise<void> {
    for (const [index, result] of input.results.entries()) {
      await chats.appendEvent({
        conversationId: input.conversationId,
        type: 'tool-result',
        role: 'tool',
        requestId: `tool:${input.requestId}:${input.hop}:${index}`,
        turnId: input.turnId,
        content: { toolCallId: result.toolCallId, toolName: result.toolName, content: result.content, isError: result.isError },
        extra: { decision: result.decision, hop: input.hop },
      });
      await eventLog.append(
        input.turnId,
        result.isError
          ? { kind: 'tool-output-error', hop: input.hop, toolCallId: result.toolCallId, errorText: result.content }
          : { kind: 'tool-output-available', hop: input.hop, toolCallId: result.toolCallId, output: result.output },
      );
      if (!result.isError) {
        for (const source of citedSources(result.toolName, result.output)) await eventLog.append(input.turnId, { kind: 'source-cited', hop: input.hop, source });
      }
    }
  }

  return { persistUserMessage, activateAgent, finalizeTurn, recordContextReset, recordToolResults };
}
