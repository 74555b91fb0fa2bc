/**
 * Chat routes: start or attach to a turn (`POST /api/chat`), resume its stream
 * (`GET /api/chat/:id/stream`), stop it (`POST /api/chat/:id/stop`).
 *
 * A chat id names a conversation within the caller's workspace: another workspace using the same
 * chat id has its own conversation, so no request can reach, or learn about, another tenant's turns.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { RedisClient } from '../../clients';
import type { Configuration } from '../../config';
import type { ChatRepository, ConversationRow } from '../../db/chat-repository';
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
import { approvalAnswerSchema, parseChatRequest, steeringSchema, type ApprovalResponses, type ChatRequest } from '../chat-request';
import { APPROVAL_REJECTIONS, type ApprovalAnswer, type ApprovalOutcome, type SteeringMessage } from '../../shared/turn-control';
import { findJsonProblem } from '../json-safety';
import { checkAttachments, UnknownAttachmentError, type Attachments } from '../../storage/attachments';
import { sendError } from '../errors';
import { TemporalUnavailableError, withinTemporalDeadline } from '../temporal-availability';
import type { StreamProtocol } from '../sse/stream-framing';
import { pipeTurnStream, type TurnStreamDependencies } from '../sse/turn-stream';

export interface ChatRouteDependencies {
  configuration: Configuration;
  temporal: Client;
  redis: RedisClient;
  chats: ChatRepository;
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

/**
 * Clients on ai ≥ 6 say so with `X-AI-SDK-Version: 6` (or 7): they get `tool-approval-request` and
 * `tool-output-denied` chunks, and their stream ends while the turn waits for an approval.
 */
export function understandsApprovals(request: Request): boolean {
  const version = Number.parseInt(request.header('x-ai-sdk-version') ?? '', 10);
  return Number.isFinite(version) && version >= 6;
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

/** The longest a request waits for the running turn to take an approval or a steering message. */
const UPDATE_DEADLINE_MS = 30_000;

/**
 * How long a new message waits for the conversation's latest claimed turn to appear in Temporal
 * (messages sent at once: the earlier request may still be starting it) before that claim counts
 * as a request that failed.
 */
const CLAIMED_TURN_START_WAIT_MS = 3_000;

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
    if (parsed.approvals) return continueAfterApprovals(request, response, parsed.approvals);
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
    const titleNeeded = conversation.originalTitle;

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
    const streamRequest = { turnId, messageId, modernClient: isModernClient(request), approvalChunks: understandsApprovals(request), protocol: requestedProtocol(request) };
    const deadlineMs = configuration.temporal.requestTimeoutMs;
    // A turn of this conversation still runs: the agent's busy policy decides. The claim of the
    // latest turn is atomic, so messages sent at once queue in one chain, in the order they claimed.
    const previous = await eventLog.swapLatestTurn(conversation.id, turnId);
    try {
      let running = await runningTurn(conversation.id, turnId, previous);
      if (running && (await turnExists(turnId))) {
        // A repeated request for an earlier turn while a newer one runs: it attaches, and the newer
        // turn stays the latest (and is neither stopped nor queued behind).
        await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
        running = undefined;
      }
      if (running) {
        if (agent.busyPolicy === 'reject') {
          await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
          return sendError(response, 409, 'turn_running', 'A turn of this chat is still running: wait for it, stop it, or steer it (POST /api/chat/:id/steer).', undefined, { turnId: running });
        }
        if (agent.busyPolicy === 'interrupt') await interruptTurn(running);
        else input.queuedBehind = running;
      }
    } catch (error) {
      if (error instanceof TemporalUnavailableError) {
        await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
        if (conversation.created) await chats.deleteUnusedConversation(conversation.id);
      }
      throw error;
    }
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
      await eventLog.publishConversationEvent(conversation.id, `start:${turnId}`, 'turn-started', turnId, {
        messageId,
        userMessageId: chat.userMessage.id,
        ...(input.queuedBehind ? { queuedBehind: input.queuedBehind } : {}),
      });
    } catch (error) {
      if (error instanceof TemporalUnavailableError) {
        // Nothing started: a conversation this request created goes again, so a retry starts clean.
        await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
        if (conversation.created) await chats.deleteUnusedConversation(conversation.id);
        logger.warn({ turnId }, 'Temporal unavailable: turn not started');
        throw error;
      }
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      if (!(await eventLog.exists(turnId))) {
        const stored = await chats.findEventByRequestId(conversation.id, requestIds.answer(key));
        if (!stored) {
          if (previous !== turnId) await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
          return sendError(response, 409, 'turn_unavailable', 'This request already ran and left no answer.');
        }
        logger.info({ turnId }, 'duplicate request: streaming the stored answer');
        // Nothing of this turn is left to resume: the latest turn stays what it was.
        if (previous !== turnId) await eventLog.restoreLatestTurn(conversation.id, turnId, previous);
        const finish = { finishReason: (stored.extra.finishReason as FinishReason | undefined) ?? 'stop', usage: (stored.extra.usage as TokenUsage | undefined) ?? { inputTokens: 0, outputTokens: 0 } };
        return pipeTurnStream(request, response, { ...streamRequest, preludeOnly: true, prelude: storedAnswerEvents((stored.content.parts ?? []) as MessagePart[], finish) }, dependencies.stream);
      }
      logger.info({ turnId }, 'duplicate request: replaying the turn from its log');
    }
    // The latest turn was claimed above (atomically, with the busy check).
    await pipeTurnStream(request, response, { ...streamRequest, ...(resumeAfter.id ? { afterId: resumeAfter.id } : {}) }, dependencies.stream);
  });

  /**
   * The conversation's running turn other than `turnId` (the one this request names), if any. A turn
   * that stored its answer is done for the user, even while its workflow still learns memories.
   */
  async function runningTurn(conversationId: string, turnId: string, latest: string | null): Promise<string | undefined> {
    if (!latest || latest === turnId) return undefined;
    if (await chats.turnAnswered(conversationId, latest)) return undefined;
    // The latest claim may belong to a message sent a moment earlier whose request is still starting
    // its workflow: not found yet is not "not running". It is waited for, briefly; a claim whose
    // request failed before starting anything stops counting after that.
    const claimedAt = Date.now();
    for (;;) {
      try {
        const description = await withinTemporalDeadline(temporal, configuration.temporal.requestTimeoutMs, () => temporal.workflow.getHandle(latest).describe());
        return description.status.name === 'RUNNING' ? latest : undefined;
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        if (Date.now() - claimedAt >= CLAIMED_TURN_START_WAIT_MS) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async function turnExists(turnId: string): Promise<boolean> {
    try {
      await withinTemporalDeadline(temporal, configuration.temporal.requestTimeoutMs, () => temporal.workflow.getHandle(turnId).describe());
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  /** Busy policy `interrupt`: stops the running turn (its partial answer is kept) and waits until it ended. */
  async function interruptTurn(turnId: string): Promise<void> {
    const handle = temporal.workflow.getHandle(turnId);
    await publishStop(dependencies.redis, configuration.redis.keyPrefix, turnId);
    await handle.cancel().catch((error: unknown) => {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    });
    // The stopped turn stores its partial answer first, so the new one follows it in the conversation.
    await Promise.race([handle.result().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    logger.info({ turnId }, 'running turn interrupted by a new message');
  }

  type UpdateAnswer<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string; details?: Record<string, unknown> };

  /** Runs a validated update on a turn; a rejection (before it entered history) becomes a 4xx answer. */
  async function updateTurn<T>(turnId: string, name: string, argument: unknown, notFound: { code: string; message: string }): Promise<UpdateAnswer<T>> {
    try {
      // An update waits for a worker to run it: after a worker died holding the turn, that takes the
      // sticky queue's timeout (seconds), longer than a plain request to the server should.
      const deadlineMs = Math.max(configuration.temporal.requestTimeoutMs, UPDATE_DEADLINE_MS);
      return { ok: true, value: await withinTemporalDeadline(temporal, deadlineMs, () => temporal.workflow.getHandle(turnId).executeUpdate<T, [unknown]>(name, { args: [argument] })) };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        const failure = error.cause;
        if (failure.type === APPROVAL_REJECTIONS.alreadyAnswered) {
          return { ok: false, status: 409, code: 'approval_already_answered', message: failure.message, details: { answer: failure.details?.[0] } };
        }
        if (failure.type === APPROVAL_REJECTIONS.notFound) return { ok: false, status: 404, code: notFound.code, message: failure.message };
        // A steering message for a turn that is finishing (its last hop ran): nothing would read it.
        return { ok: false, status: 409, code: 'turn_not_running', message: failure.message };
      }
      // The turn ended (or never existed): nothing can answer there any more.
      if (error instanceof WorkflowNotFoundError || /completed|not found/i.test(String((error as Error).message))) return { ok: false, status: 404, code: notFound.code, message: notFound.message };
      throw error;
    }
  }

  /**
   * The next POST of an ai 6/7 client after `addToolApprovalResponse`: answers the running turn's
   * approvals, then streams the turn on from where it paused for them (the client continues the same
   * assistant message). A repeated request (a retry) finds its answers given and just streams.
   */
  async function continueAfterApprovals(request: Request, response: Response, approvals: ApprovalResponses) {
    const principal = principalOf(request);
    const conversation = await chats.findConversation(principal.workspaceId, approvals.chatId);
    if (!conversation || !canSeeConversation(principal, conversation)) return sendError(response, 404, 'chat_not_found', 'Chat not found.', 'id');
    const turnId = await eventLog.latestTurn(conversation.id);
    const turn = turnId ? parseTurnWorkflowId(turnId) : undefined;
    if (!turnId || !turn) return sendError(response, 404, 'approval_not_found', 'This chat has no turn waiting for an approval.', 'messages');
    for (const answer of approvals.responses) {
      const given = await updateTurn<ApprovalOutcome>(turnId, 'approveTool', { ...answer, workspaceId: principal.workspaceId } satisfies ApprovalAnswer, {
        code: 'approval_not_found',
        message: `approvalId: no pending approval "${answer.approvalId}" in this chat`,
      });
      if (!given.ok && given.code !== 'approval_already_answered') return sendError(response, given.status, given.code, given.message, 'messages', given.details);
    }
    const log = await eventLog.readAfter(turnId);
    const answered = new Set(approvals.responses.map((answer) => answer.approvalId));
    const pause = log.filter((entry) => entry.event.kind === 'turn-awaiting-approval' && entry.event.approvalIds.some((id) => answered.has(id))).at(-1);
    await pipeTurnStream(
      request,
      response,
      {
        turnId,
        messageId: assistantMessageId(turn.turnKey),
        modernClient: isModernClient(request),
        approvalChunks: true,
        protocol: 'ui-message-stream',
        ...(pause ? { afterId: pause.id } : {}),
      },
      dependencies.stream,
    );
  }

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
        approvalChunks: understandsApprovals(request),
        protocol: requestedProtocol(request),
        ...(resumeAfter.id ? { afterId: resumeAfter.id } : {}),
      },
      dependencies.stream,
    );
  });

  /**
   * The conversation's own events (a turn started, queued, awaiting approval, answered, steered,
   * finished), from the start of its log (or after `Last-Event-ID`), then live: every tab or device
   * following the chat sees the same events in the same order, and resumes a running turn's stream
   * with `GET /api/chat/:id/stream`. The response stays open until the client closes it.
   */
  router.get('/chat/:id/events', async (request: Request<{ id: string }>, response: Response) => {
    const resumeAfter = lastEventId(request);
    if (!resumeAfter.ok) return sendError(response, 400, 'invalid_request', 'Last-Event-ID: must be an event id the stream sent', 'Last-Event-ID');
    const conversation = await conversationOf(request);
    if (!conversation) return sendError(response, 404, 'chat_not_found', 'Chat not found.', 'id');
    await pipeTurnStream(
      request,
      response,
      {
        turnId: eventLog.conversationLogId(conversation.id),
        messageId: '',
        modernClient: true,
        protocol: 'conversation-events',
        follow: true,
        ...(resumeAfter.id ? { afterId: resumeAfter.id } : {}),
      },
      dependencies.stream,
    );
  });

  const approvalBody = approvalAnswerSchema;
  const steeringBody = steeringSchema;

  /** The body parsed with a schema, or a 400 naming the field (sent). */
  function bodyOf<T>(schema: z.ZodType<T>, request: Request, response: Response): T | undefined {
    const parsed = schema.safeParse(request.body ?? {});
    if (parsed.success) {
      const problem = findJsonProblem(parsed.data, []);
      if (!problem) return parsed.data;
      sendError(response, 400, 'invalid_request', `${problem.path}: ${problem.message}`, problem.path);
      return undefined;
    }
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    sendError(response, 400, 'invalid_request', `${field || 'body'}: ${issue.message}`, field || undefined);
    return undefined;
  }

  /**
   * Answers a tool approval request of the chat's running turn: `{approved, reason?}`. Delivered as a
   * validated update: an unknown id (or another tenant's) is a 404, a second answer a 409, and neither
   * enters the turn's history.
   */
  router.post('/chat/:id/approvals/:approvalId', async (request: Request<{ id: string; approvalId: string }>, response: Response) => {
    const body = bodyOf(approvalBody, request, response);
    if (!body) return;
    if (!CLIENT_ID_PATTERN.test(request.params.approvalId)) return sendError(response, 400, 'invalid_request', 'approvalId: must be an approval id the stream sent', 'approvalId');
    const conversation = await conversationOf(request);
    if (!conversation) return sendError(response, 404, 'chat_not_found', 'Chat not found.', 'id');
    const turnId = await eventLog.latestTurn(conversation.id);
    const notFound = { code: 'approval_not_found', message: `approvalId: no pending approval "${request.params.approvalId}" in this chat` };
    if (!turnId) return sendError(response, 404, notFound.code, notFound.message, 'approvalId');
    const answer: ApprovalAnswer = { approvalId: request.params.approvalId, approved: body.approved, ...(body.reason ? { reason: body.reason } : {}), workspaceId: principalOf(request).workspaceId };
    const given = await updateTurn<ApprovalOutcome>(turnId, 'approveTool', answer, notFound);
    if (!given.ok) {
      // The same answer again (a client retrying after a lost response) is not a second answer.
      const earlier = given.details?.answer as { approved?: boolean } | undefined;
      if (given.code === 'approval_already_answered' && earlier?.approved === answer.approved) {
        return response.json({ approvalId: answer.approvalId, approved: answer.approved, turnId, repeated: true });
      }
      return sendError(response, given.status, given.code, given.message, 'approvalId', given.details);
    }
    logger.info({ turnId, approvalId: answer.approvalId, approved: answer.approved }, 'tool approval answered');
    return response.json({ ...given.value, turnId });
  });

  /**
   * Steers the running turn: the text reaches the workflow as a validated update and joins the
   * model's context at the next hop boundary (a turn that already answered gets one more hop). 409
   * when no turn runs or the turn is finishing.
   */
  router.post('/chat/:id/steer', async (request: Request<{ id: string }>, response: Response) => {
    const body = bodyOf(steeringBody, request, response);
    if (!body) return;
    const conversation = await conversationOf(request);
    if (!conversation) return sendError(response, 404, 'chat_not_found', 'Chat not found.', 'id');
    const turnId = await eventLog.latestTurn(conversation.id);
    const notRunning = { code: 'turn_not_running', message: 'No turn of this chat is running: send a new message instead.' };
    if (!turnId) return sendError(response, 409, notRunning.code, notRunning.message);
    const message: SteeringMessage = { id: body.id ?? `steer-${randomUUID()}`, text: body.text, workspaceId: principalOf(request).workspaceId };
    const taken = await updateTurn<{ id: string; accepted: true }>(turnId, 'steer', message, notRunning);
    if (!taken.ok) return sendError(response, taken.status === 404 ? 409 : taken.status, taken.code, taken.message);
    logger.info({ turnId, steeringId: message.id }, 'steering message delivered');
    return response.status(202).json({ accepted: true, id: message.id, turnId });
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
