/**
 * Chat routes: start or attach to a turn (`POST /api/chat`), resume its stream
 * (`GET /api/chat/:id/stream`), stop it (`POST /api/chat/:id/stop`).
 */
import { Router, type Request, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Configuration } from '../../config';
import type { ChatRepository } from '../../db/chat-repository';
import type { ConversationRepository } from '../../db/conversation-repository';
import type { WorkspaceRepository } from '../../db/workspace-repository';
import type { Logger } from '../../logger';
import type { EventLog } from '../../stream/event-log';
import { assistantMessageId, turnWorkflowId } from '../../shared/ids';
import { messageText, type MessagePart } from '../../shared/messages';
import { AGENT_ID, CONVERSATION_ID, TURN_STATUS, USER_ID, WORKSPACE_ID } from '../../shared/search-attributes';
import type { FinishReason, StreamEvent, TokenUsage } from '../../shared/stream-events';
import type { ChatTurnInput } from '../../shared/turn';
import type { chatTurn } from '../../workflows/chat-turn';
import { principalOf } from '../auth';
import { parseChatRequest } from '../chat-request';
import { sendError } from '../errors';
import type { StreamProtocol } from '../sse/stream-framing';
import { pipeTurnStream, type TurnStreamDependencies } from '../sse/turn-stream';

export interface ChatRouteDependencies {
  configuration: Configuration;
  temporal: Client;
  chats: ChatRepository;
  conversations: ConversationRepository;
  workspaces: WorkspaceRepository;
  eventLog: EventLog;
  logger: Logger;
  stream: TurnStreamDependencies;
  onTurnStarted?(): void;
}

/** Clients on ai ≥ 7 say so with `X-AI-SDK-Version: 7`; without it the stream stays valid for ai 5 and 6. */
export function isModernClient(request: Request): boolean {
  const version = Number.parseInt(request.header('x-ai-sdk-version') ?? '', 10);
  return Number.isFinite(version) && version >= 7;
}

/** ai 4 clients ask for the v4 data stream with `?protocol=data` or `X-AI-SDK-Version: 4`. */
export function requestedProtocol(request: Request): StreamProtocol {
  const version = Number.parseInt(request.header('x-ai-sdk-version') ?? '', 10);
  return request.query.protocol === 'data' || version === 4 ? 'data-stream-v4' : 'ui-message-stream';
}

function lastEventId(request: Request): string | undefined {
  const value = request.header('last-event-id');
  return value && /^\d+-\d+$/.test(value) ? value : undefined;
}

/** The events that stream a stored answer back when its replay log has expired (marked cached). */
export function cachedAnswerEvents(parts: MessagePart[], extra: Record<string, unknown>): StreamEvent[] {
  const text = messageText(parts);
  const usage = (extra.usage as TokenUsage | undefined) ?? { inputTokens: 0, outputTokens: 0 };
  const finishReason = (extra.finishReason as FinishReason | undefined) ?? 'stop';
  return [
    { kind: 'hop-start', hop: 0, attempt: 1 },
    ...(text ? [{ kind: 'text-delta' as const, hop: 0, attempt: 1, delta: text }] : []),
    { kind: 'hop-end', hop: 0, attempt: 1, finishReason },
    { kind: 'turn-finish', finishReason, usage, cached: true },
  ];
}

export function createChatRouter(dependencies: ChatRouteDependencies): Router {
  const { configuration, temporal, chats, workspaces, eventLog, logger } = dependencies;
  const router = Router();

  /**
   * Starts the turn, or attaches to it when the same request id is already running (the workflow id
   * is derived from conversation and request id, so the turn never runs twice). A finished turn is
   * streamed back from its log, or from the stored answer once the log expired, marked cached.
   */
  router.post('/chat', async (request: Request, response: Response) => {
    const parsed = parseChatRequest(request.body);
    if (!parsed.ok) return sendError(response, 400, 'invalid_request', parsed.message, parsed.field);
    const chat = parsed.request;
    const principal = principalOf(request);
    const agent = await workspaces.findAgent(principal.workspaceId, chat.agentId);
    if (!agent) return sendError(response, 404, 'agent_not_found', `Agent ${chat.agentId ?? '(default)'} not found.`, 'agentId');
    const access = await chats.claimConversation(chat.conversationId, principal.workspaceId, principal.userId, messageText(chat.userMessage.parts));
    if (access === 'foreign') return sendError(response, 404, 'chat_not_found', 'Chat not found.');
    const titleNeeded = await dependencies.conversations.hasOriginalTitle(chat.conversationId);

    const turnId = turnWorkflowId(chat.conversationId, chat.requestId);
    const messageId = assistantMessageId(chat.requestId);
    const input: ChatTurnInput = {
      turnId,
      conversationId: chat.conversationId,
      requestId: chat.requestId,
      messageId,
      workspaceId: principal.workspaceId,
      userId: principal.userId,
      agentId: agent.id,
      ...(chat.useSystemLlm !== undefined ? { useSystemLlm: chat.useSystemLlm } : {}),
      userMessage: chat.userMessage,
      ...(titleNeeded ? { titleNeeded } : {}),
      options: {
        heartbeatTimeoutMs: configuration.llm.heartbeatTimeoutMs,
        llmStartToCloseTimeoutMs: configuration.llm.startToCloseTimeoutMs,
      },
    };
    const modernClient = isModernClient(request);
    const protocol = requestedProtocol(request);
    try {
      await temporal.workflow.start<typeof chatTurn>('chatTurn', {
        taskQueue: configuration.temporal.taskQueue,
        workflowId: turnId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A worker that dies holding the turn's workflow task is replaced within seconds.
        workflowTaskTimeout: '3 seconds',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: messageText(chat.userMessage.parts).slice(0, 120),
        typedSearchAttributes: [
          { key: CONVERSATION_ID, value: chat.conversationId },
          { key: WORKSPACE_ID, value: principal.workspaceId },
          { key: USER_ID, value: principal.userId },
          { key: AGENT_ID, value: agent.id },
          { key: TURN_STATUS, value: 'running' },
        ],
      });
      dependencies.onTurnStarted?.();
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      if (!(await eventLog.exists(turnId))) {
        const stored = await chats.findEventByRequestId(chat.conversationId, `${chat.requestId}:assistant`);
        if (!stored) return sendError(response, 409, 'turn_unavailable', 'This request already ran and left no answer.');
        logger.info({ turnId }, 'duplicate request: streaming the stored answer');
        return pipeTurnStream(request, response, {
          turnId,
          messageId,
          modernClient,
          protocol,
          preludeOnly: true,
          prelude: cachedAnswerEvents((stored.content.parts ?? []) as MessagePart[], stored.extra),
        }, dependencies.stream);
      }
      logger.info({ turnId }, 'duplicate request: replaying the finished turn from its log');
    }
    await eventLog.setLatestTurn(chat.conversationId, turnId);
    await pipeTurnStream(request, response, { turnId, messageId, modernClient, protocol, afterId: lastEventId(request) }, dependencies.stream);
  });

  /** Resume: the latest turn's stream from its start (or after `Last-Event-ID`), then live; 204 when there is none. */
  router.get('/chat/:id/stream', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const access = await chats.conversationAccess(request.params.id, principal.workspaceId);
    // A chat that was never started has nothing to resume: 204 keeps a mounting `useChat({ resume: true })` ready.
    if (access === 'missing') return response.status(204).end();
    if (access === 'foreign') return sendError(response, 404, 'chat_not_found', 'Chat not found.');
    const turnId = await eventLog.latestTurn(request.params.id);
    if (!turnId || !(await eventLog.exists(turnId))) return response.status(204).end();
    const requestId = turnId.slice(`chat:${request.params.id}:`.length);
    await pipeTurnStream(
      request,
      response,
      { turnId, messageId: assistantMessageId(requestId), modernClient: isModernClient(request), protocol: requestedProtocol(request), afterId: lastEventId(request) },
      dependencies.stream,
    );
  });

  /** Stop: cancels the running turn; its partial answer is persisted with finish reason `cancelled`. */
  router.post('/chat/:id/stop', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    if ((await chats.conversationAccess(request.params.id, principal.workspaceId)) !== 'owned') return sendError(response, 404, 'chat_not_found', 'Chat not found.');
    const turnId = await eventLog.latestTurn(request.params.id);
    if (!turnId) return response.json({ stopped: false });
    const handle = temporal.workflow.getHandle(turnId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return response.json({ stopped: false, turnId });
      await handle.cancel();
      logger.info({ turnId }, 'turn stop requested');
      return response.json({ stopped: true, turnId });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return response.json({ stopped: false });
      throw error;
    }
  });

  return router;
}
