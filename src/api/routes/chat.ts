/**
 * Chat routes: start or attach to a turn (`POST /api/chat`), resume its stream
 * (`GET /api/chat/:id/stream`), stop it (`POST /api/chat/:id/stop`).
 *
 * A chat id names a conversation within the caller's workspace: another workspace using the same
 * chat id has its own conversation, so no request can reach, or learn about, another tenant's turns.
 */
import { Router, type Request, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Configuration } from '../../config';
import type { ChatRepository, ConversationRow } from '../../db/chat-repository';
import type { ConversationRepository } from '../../db/conversation-repository';
import type { WorkspaceRepository } from '../../db/workspace-repository';
import type { Logger } from '../../logger';
import type { EventLog } from '../../stream/event-log';
import { publishStop } from '../../stream/stop-signals';
import { storedAnswerEvents } from '../../shared/answer';
import { assistantMessageId, CLIENT_ID_PATTERN, parseTurnWorkflowId, requestIds, turnKey, turnWorkflowId } from '../../shared/ids';
import { messageText, type MessagePart } from '../../shared/messages';
import { MAX_LAST_EVENT_ID_LENGTH, WORKFLOW_TASK_TIMEOUT } from '../../shared/policy';
import { AGENT_ID, CONVERSATION_ID, TURN_STATUS, USER_ID, WORKSPACE_ID } from '../../shared/search-attributes';
import type { FinishReason, TokenUsage } from '../../shared/stream-events';
import type { ChatTurnInput } from '../../shared/turn';
import type { chatTurn } from '../../workflows/chat-turn';
import { principalOf } from '../auth';
import { canSeeConversation } from '../conversation-access';
import type { ToolCatalog } from '../../tools/tool-catalog';
import { isToolPattern, matchesToolPattern } from '../../tools/tool-patterns';
import { parseChatRequest, type ChatRequest } from '../chat-request';
import { checkAttachments, UnknownAttachmentError, type Attachments } from '../../storage/attachments';
import { sendError } from '../errors';
import { TemporalUnavailableError, withinTemporalDeadline } from '../temporal-availability';
import type { StreamProtocol } from '../sse/stream-framing';
import { pipeTurnStream, type TurnStreamDependencies } from '../sse/turn-stream';

export interface ChatRouteDependencies {
  configuration: Configuration;
  temporal: Client;
  redis: Redis;
  chats: ChatRepository;
  conversations: ConversationRepository;
  workspaces: WorkspaceRepository;
  eventLog: EventLog;
  logger: Logger;
  stream: TurnStreamDependencies;
  /** The tools request hints are checked against (a hint that matches no tool is a 400). */
  tools: ToolCatalog;
  /** Where the files of a user message are stored before its turn starts. */
  attachments: Attachments;
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

/** The `Last-Event-ID` to resume after: absent, or a Redis stream id; anything else is a 400. */
export function lastEventId(request: Request): { ok: true; id?: string } | { ok: false } {
  const value = request.header('last-event-id');
  if (value === undefined || value === '') return { ok: true };
  return value.length <= MAX_LAST_EVENT_ID_LENGTH && /^\d{1,20}-\d{1,20}$/.test(value) ? { ok: true, id: value } : { ok: false };
}

/**
 * The turn key of a request: the user message's id; for a regenerate, derived from the answer it
 * replaces (the one the client names, else the latest stored one), so a retried regenerate request
 * attaches to its turn instead of running another.
 */
async function turnKeyOf(chats: ChatRepository, conversation: ConversationRow, chat: ChatRequest): Promise<{ key: string; replaces?: string }> {
  if (chat.trigger !== 'regenerate-message') return { key: turnKey(chat.userMessage.id) };
  const replaces = chat.replacesMessageId ?? (await chats.latestAnswerMessageId(conversation.id, chat.userMessage.id));
  return { key: turnKey(chat.userMessage.id, replaces), ...(replaces ? { replaces } : {}) };
}

export function createChatRouter(dependencies: ChatRouteDependencies): Router {
  const { configuration, temporal, chats, workspaces, eventLog, logger } = dependencies;
  const router = Router();

  /** The first request hint that is not a pattern matching some tool of the workspace. */
  async function unknownToolHint(hints: readonly string[], workspaceId: string): Promise<{ index: number; hint: string } | undefined> {
    const candidates = await dependencies.tools.candidates(workspaceId);
    const index = hints.findIndex((hint) => !isToolPattern(hint) || !candidates.some((candidate) => matchesToolPattern(candidate.name, hint)));
    return index < 0 ? undefined : { index, hint: hints[index]! };
  }

  /**
   * Starts the turn, or attaches to it when the same request is already running (the workflow id is
   * derived from the conversation and the turn key, so a turn never runs twice). A finished turn is
   * streamed back from its log, or from the stored answer once the log expired, marked cached.
   * `trigger: 'regenerate-message'` answers the same user message again as a new turn; the earlier
   * answer stays in the conversation's history.
   */
  router.post('/chat', async (request: Request, response: Response) => {
    const parsed = parseChatRequest(request.body);
    if (!parsed.ok) return sendError(response, 400, 'invalid_request', parsed.message, parsed.field);
    const resumeAfter = lastEventId(request);
    if (!resumeAfter.ok) return sendError(response, 400, 'invalid_request', 'Last-Event-ID: must be an event id the stream sent', 'Last-Event-ID');
    const chat = parsed.request;
    // Attachment limits answer 413/415 before anything is claimed, stored or started.
    const files = checkAttachments(chat.userMessage.parts, configuration.attachments);
    if (!files.ok) return sendError(response, files.problem.status, files.problem.code, files.problem.message, files.problem.field);
    const principal = principalOf(request);
    const agent = await workspaces.findAgent(principal.workspaceId, chat.agentId);
    if (!agent) return sendError(response, 404, 'agent_not_found', `Agent ${chat.agentId ?? '(default)'} not found.`, 'agentId');
    if (chat.toolHints) {
      const unknown = await unknownToolHint(chat.toolHints, principal.workspaceId);
      if (unknown) return sendError(response, 400, 'invalid_request', `toolHints.${unknown.index}: "${unknown.hint}" matches no tool`, `toolHints.${unknown.index}`);
    }
    const conversation = await chats.claimConversation(principal.workspaceId, chat.chatId, principal.userId, messageText(chat.userMessage.parts));
    // A member continues only its own conversations; an admin any of the workspace.
    if (!canSeeConversation(principal, conversation)) return sendError(response, 404, 'chat_not_found', 'Chat not found.');
    if (files.attachments.length > 0) {
      // Files go to the object store, the message keeps their URLs: Temporal payloads stay small.
      try {
        chat.userMessage = { ...chat.userMessage, parts: await dependencies.attachments.storeMessageFiles(principal.workspaceId, chat.userMessage.parts, files.attachments) };
      } catch (error) {
        if (error instanceof UnknownAttachmentError) return sendError(response, 400, 'attachment_not_found', error.message, 'messages');
        throw error;
      }
    }
    const titleNeeded = await dependencies.conversations.hasOriginalTitle(conversation.id);

    const { key, replaces } = await turnKeyOf(chats, conversation, chat);
    const turnId = turnWorkflowId(conversation.id, key);
    const messageId = assistantMessageId(key);
    const input: ChatTurnInput = {
      turnId,
      conversationId: conversation.id,
      requestId: key,
      messageId,
      workspaceId: principal.workspaceId,
      userId: principal.userId,
      agentId: agent.id,
      ...(chat.useSystemLlm !== undefined ? { useSystemLlm: chat.useSystemLlm } : {}),
      ...(chat.toolHints ? { toolHints: chat.toolHints } : {}),
      ...(chat.widgetMode !== undefined ? { widgetMode: chat.widgetMode } : {}),
      ...(replaces ? { regenerates: replaces } : {}),
      userMessage: chat.userMessage,
      ...(titleNeeded ? { titleNeeded } : {}),
      options: {
        heartbeatTimeoutMs: configuration.llm.heartbeatTimeoutMs,
        llmStartToCloseTimeoutMs: configuration.llm.startToCloseTimeoutMs,
      },
    };
    const streamRequest = { turnId, messageId, modernClient: isModernClient(request), protocol: requestedProtocol(request) };
    const deadlineMs = configuration.temporal.requestTimeoutMs;
    try {
      await withinTemporalDeadline(temporal, deadlineMs, () => temporal.workflow.start<typeof chatTurn>('chatTurn', {
        taskQueue: configuration.temporal.taskQueue,
        workflowId: turnId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A worker that dies holding the turn's workflow task is replaced within seconds.
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: messageText(chat.userMessage.parts).slice(0, 120),
        typedSearchAttributes: [
          { key: CONVERSATION_ID, value: chat.chatId },
          { key: WORKSPACE_ID, value: principal.workspaceId },
          { key: USER_ID, value: principal.userId },
          { key: AGENT_ID, value: agent.id },
          { key: TURN_STATUS, value: 'running' },
        ],
      }));
      dependencies.onTurnStarted?.();
    } catch (error) {
      if (error instanceof TemporalUnavailableError) {
        // Nothing started: a conversation this request created goes again, so a retry starts clean.
        if (conversation.created) await chats.deleteUnusedConversation(conversation.id);
        logger.warn({ turnId }, 'Temporal unavailable: turn not started');
        throw error;
      }
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      if (!(await eventLog.exists(turnId))) {
        const stored = await chats.findEventByRequestId(conversation.id, requestIds.answer(key));
        if (!stored) return sendError(response, 409, 'turn_unavailable', 'This request already ran and left no answer.');
        logger.info({ turnId }, 'duplicate request: streaming the stored answer');
        const finish = { finishReason: (stored.extra.finishReason as FinishReason | undefined) ?? 'stop', usage: (stored.extra.usage as TokenUsage | undefined) ?? { inputTokens: 0, outputTokens: 0 } };
        return pipeTurnStream(request, response, { ...streamRequest, preludeOnly: true, prelude: storedAnswerEvents((stored.content.parts ?? []) as MessagePart[], finish) }, dependencies.stream);
      }
      logger.info({ turnId }, 'duplicate request: replaying the turn from its log');
    }
    await eventLog.setLatestTurn(conversation.id, turnId);
    await pipeTurnStream(request, response, { ...streamRequest, ...(resumeAfter.id ? { afterId: resumeAfter.id } : {}) }, dependencies.stream);
  });

  /**
   * The caller's conversation for a chat id in the path, or undefined (a malformed id never matches).
   * Another member's conversation is undefined to a member key, exactly like one that does not exist.
   */
  async function conversationOf(request: Request<{ id: string }>): Promise<ConversationRow | undefined> {
    if (!CLIENT_ID_PATTERN.test(request.params.id)) return undefined;
    const principal = principalOf(request);
    const conversation = await chats.findConversation(principal.workspaceId, request.params.id);
    return conversation && canSeeConversation(principal, conversation) ? conversation : undefined;
  }

  /**
   * Resume: the latest turn's stream from its start (or after `Last-Event-ID`), then live. 204 when
   * there is nothing to resume, whether the chat never existed or belongs to someone else: the answer
   * reveals nothing about other tenants.
   */
  router.get('/chat/:id/stream', async (request: Request<{ id: string }>, response: Response) => {
    if (!CLIENT_ID_PATTERN.test(request.params.id)) return sendError(response, 400, 'invalid_request', 'id: not a chat id', 'id');
    const resumeAfter = lastEventId(request);
    if (!resumeAfter.ok) return sendError(response, 400, 'invalid_request', 'Last-Event-ID: must be an event id the stream sent', 'Last-Event-ID');
    const conversation = await conversationOf(request);
    if (!conversation) return response.status(204).end();
    const turnId = await eventLog.latestTurn(conversation.id);
    const turn = turnId ? parseTurnWorkflowId(turnId) : undefined;
    if (!turnId || !turn || !(await eventLog.exists(turnId))) return response.status(204).end();
    await pipeTurnStream(
      request,
      response,
      {
        turnId,
        messageId: assistantMessageId(turn.turnKey),
        modernClient: isModernClient(request),
        protocol: requestedProtocol(request),
        ...(resumeAfter.id ? { afterId: resumeAfter.id } : {}),
      },
      dependencies.stream,
    );
  });

  /**
   * Stop: ends the running turn's model call at once (a stop message over Redis to the worker that
   * streams it) and cancels its workflow; the partial answer is persisted with finish reason
   * `cancelled`. A chat with no running turn answers `{stopped: false}`, whoever it belongs to.
   */
  router.post('/chat/:id/stop', async (request: Request<{ id: string }>, response: Response) => {
    if (!CLIENT_ID_PATTERN.test(request.params.id)) return sendError(response, 400, 'invalid_request', 'id: not a chat id', 'id');
    const conversation = await conversationOf(request);
    const turnId = conversation ? await eventLog.latestTurn(conversation.id) : null;
    if (!turnId) return response.json({ stopped: false });
    const handle = temporal.workflow.getHandle(turnId);
    const deadlineMs = configuration.temporal.requestTimeoutMs;
    try {
      const description = await withinTemporalDeadline(temporal, deadlineMs, () => handle.describe());
      if (description.status.name !== 'RUNNING') return response.json({ stopped: false });
      await publishStop(dependencies.redis, configuration.redis.keyPrefix, turnId);
      await withinTemporalDeadline(temporal, deadlineMs, () => handle.cancel());
      logger.info({ turnId }, 'turn stop requested');
      return response.json({ stopped: true, turnId });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return response.json({ stopped: false });
      throw error;
    }
  });

  return router;
}
