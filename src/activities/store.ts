/**
 * Activities that read and write Postgres (and publish the closing events of a turn).
 *
 * Every write is idempotent on a request id, so a retried activity writes nothing twice.
 */
import type { AgentActivationRequest, AgentActivator } from '../agents/agent-activation';
import type { ChatRepository } from '../db/chat-repository';
import type { Logger } from '../logger';
import type { EventLog } from '../stream/event-log';
import type { MessagePart, StoredMessage } from '../shared/messages';
import type { FinishReason, StreamEvent, TokenUsage } from '../shared/stream-events';
import type { AgentConfiguration, RecordedToolResult } from '../shared/turn';

export interface StoreDependencies {
  chats: ChatRepository;
  /** Resolves agents with their connection, skills and tool selection (src/agents/agent-activation.ts). */
  agents: AgentActivator;
  eventLog: EventLog;
  logger: Logger;
}

export interface PersistUserMessageInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  message: StoredMessage;
}

/** The agent, the LLM choice, and what tool selection needs: the message, the fast path, the request's hints. */
export type ActivateAgentInput = AgentActivationRequest;

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
  const { chats, eventLog, logger } = dependencies;

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
   * Loads the agent's configuration for this turn: model and connection, persona merged with its
   * skills, tools selected for the message, limits. No secret is returned: the LLM activity resolves
   * credentials itself, so none lands in workflow history. Read-only, so a retry is harmless.
   */
  async function activateAgent(input: ActivateAgentInput): Promise<AgentConfiguration> {
    const agent = await dependencies.agents.activate(input);
    logger.info(
      { agentId: agent.agentId, model: agent.model, connectionId: agent.connection?.id, skills: agent.skills?.length ?? 0, tools: agent.toolSelection?.tools.length ?? 0 },
      'agent activated',
    );
    return agent;
  }

  /**
   * Persists the final assistant message and publishes the turn's closing events. Idempotent: the
   * message is keyed by the request id; a repeated `turn-finish` is harmless because the bridge
   * ends the stream at the first one.
   */
  async function finalizeTurn(input: FinalizeTurnInput): Promise<{ seq: number }> {
    const parts: MessagePart[] = [...input.parts];
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
   * Persists a hop's tool results (each under its own request id) and streams them to the client.
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
    }
  }

  return { persistUserMessage, activateAgent, finalizeTurn, recordContextReset, recordToolResults };
}
