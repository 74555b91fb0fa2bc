/**
 * The chat turn workflow: one user message in, one streamed and persisted assistant answer out.
 *
 * Deterministic by construction: it orders activities and makes every decision from their results
 * with pure functions (fast path, fresh start, the loop guard, the tool-round limit, fallback models),
 * so a replay takes exactly the same path. Conversation history and memories load inside activities;
 * history carries ids, this turn's new messages and per-hop results, which keeps a turn far below
 * Temporal's limits. A worker that dies mid-answer costs only the retry of the activity it was running.
 *
 * Every step has a bounded retry policy (`src/shared/policy.ts`) and the hop loop is bounded by the
 * agent's tool-round limit, so no input can make a turn run forever.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RetrievedMemory } from '../activities/memory';
import type { HopUsageRecord } from '../activities/store';
import { AnswerBuilder } from '../shared/answer';
import { conversationTitleWorkflowId } from '../shared/conversation-title';
import { toolCallKey } from '../shared/ids';
import { messageText } from '../shared/messages';
import { AFTER_ANSWER_STEP, BEGIN_TURN_STEP, CONTEXT_GUARD_STEP, LLM_HOP_RETRY, MEMORY_STEP, QUEUE_WAIT_STEP, STORE_STEP, TOOL_CALL } from '../shared/policy';
import { APPROVAL_REJECTIONS, approvalTimeoutReason, deniedToolText, MAX_STEERING_MESSAGES, STEERING_REJECTIONS } from '../shared/turn-control';
import { TURN_STATUS } from '../shared/search-attributes';
import type { FinishReason, TokenUsage } from '../shared/stream-events';
import { capReachedText, capWarningText, SpendMeter } from '../shared/spend-caps';
import { runToolRound, toolLimitReason, type ToolRunner } from '../shared/tool-hop';
import { ToolExecutionTracker } from '../shared/tool-tracker';
import { isFastPath, isFreshStart, memorySkipReason } from '../shared/turn-planning';
import {
  partialTextOf,
  type AgentConfiguration,
  type ChatTurnInput,
  type ChatTurnResult,
  type HopResult,
  type RecordedToolResult,
  type ToolCall,
  type TurnMessage,
  type TurnState,
} from '../shared/turn';
import { chatTurnV1 } from './chat-turn-v1';
import { conversationTitle } from './conversation-title';
import { approveToolUpdate, hopLimitWarning, steerUpdate, turnStateQuery } from './turn-queries';

export { approveToolUpdate, hopLimitWarning, steerUpdate, turnStateQuery };

/** One approval request of the turn, and its answer once there is one. */
interface PendingApproval {
  approvalId: string;
  toolCallId: string;
  answer?: { approved: boolean; reason?: string };
}

/** The patch that introduced this version; histories recorded before it replay `chatTurnV1`. */
export const TURN_CORE_PATCH = 'turn-core-v2';

/**
 * After the answer, the title and memory extraction run side by side in one activity of the turn
 * (`afterAnswer`); before this patch the turn started the title as a child workflow, then extracted
 * memories in an activity of their own: one workflow execution and one activity fewer per turn of a
 * new conversation (issue 17).
 */
export const AFTER_TURN_PATCH = 'after-turn-v1';

/**
 * The path to the first token as one local step (`beginTurn`: message, agent, memory, context
 * guard) instead of four local activities in two rounds. Asked first, and instead of the two patches
 * above: a turn that has it records one patch marker, not two, and takes both of their branches.
 * Histories recorded before it (test/replay/histories/after-turn-v1/) replay the older branches.
 */
export const TURN_START_PATCH = 'turn-start-v1';

/** The cause of an activity failure (the error the activity threw), or the error itself. */
function causeOf(error: unknown): (Error & { details?: unknown[] | null }) | undefined {
  if (error instanceof ActivityFailure) return error.cause as (Error & { details?: unknown[] | null }) | undefined;
  return error instanceof Error ? error : undefined;
}

/** The partial hop a hop stopped by the user carried in its cancellation's details, if any. */
function stoppedHopOf(error: unknown): HopResult | undefined {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof CancelledFailure)) return undefined;
  const details = error.cause.details[0] as HopResult | undefined;
  return details && typeof details.content === 'string' ? details : undefined;
}

function failureMessage(error: unknown): string {
  return causeOf(error)?.message ?? String(error);
}

/** A hop that failed for good on every model: what it streamed before failing, and why. */
class HopFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly partialText: string,
  ) {
    super(failureMessage(failure));
  }
}

/**
 * Names the conversation in the background after an answer, while it still has the title it was
 * created with: an abandoned child workflow, so the turn never waits for the model's title and a
 * title problem never fails the turn (it is logged).
 */
async function startConversationTitle(input: ChatTurnInput, model: string, connection: AgentConfiguration['connection']): Promise<void> {
  try {
    await startChild(conversationTitle, {
      workflowId: conversationTitleWorkflowId(input.conversationId),
      args: [{ conversationId: input.conversationId, workspaceId: input.workspaceId, model, turnId: input.turnId, ...(connection ? { connection } : {}) }],
      parentClosePolicy: 'ABANDON',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  } catch (error) {
    log.warn('conversation title not started', { conversationId: input.conversationId, error: failureMessage(error) });
  }
}

/** Runs one chat turn; see the module comment for its guarantees. */
export async function chatTurn(input: ChatTurnInput): Promise<ChatTurnResult> {
  const startsInOneStep = patched(TURN_START_PATCH);
  if (!startsInOneStep && !patched(TURN_CORE_PATCH)) return chatTurnV1(input);

  const storeSteps = proxyLocalActivities<Activities>(STORE_STEP);
  const memorySteps = proxyLocalActivities<Activities>(MEMORY_STEP);
  const contextSteps = proxyLocalActivities<Activities>(CONTEXT_GUARD_STEP);
  const toolCalls = proxyActivities<Activities>(TOOL_CALL);
  const afterAnswerSteps = proxyActivities<Activities>(AFTER_ANSWER_STEP);
  const queueWait = proxyActivities<Activities>(QUEUE_WAIT_STEP);
  // WAIT_CANCELLATION_COMPLETED: on stop, the workflow waits until the hop has really stopped
  // publishing; the hop then returns what it streamed, which becomes the partial answer.
  const llmHopOptions = {
    startToCloseTimeout: input.options.llmStartToCloseTimeoutMs,
    heartbeatTimeout: input.options.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: LLM_HOP_RETRY,
  };
  const llmHops = proxyActivities<Activities>(llmHopOptions);

  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const state: TurnState = { status: 'starting', hop: 0, usage, toolCalls: 0 };
  setHandler(turnStateQuery, () => state);

  // Approvals: registered before the first await, so no answer can arrive before its handler. The
  // validator runs before an answer enters history: another workspace's answer, an unknown id and a
  // second answer (after the user's or the timeout's) are rejected there.
  const approvals = new Map<string, PendingApproval>();
  setHandler(
    approveToolUpdate,
    (answer) => {
      const pending = approvals.get(answer.approvalId)!;
      pending.answer = { approved: answer.approved, ...(answer.reason ? { reason: answer.reason } : {}) };
      return { approvalId: pending.approvalId, toolCallId: pending.toolCallId, approved: answer.approved };
    },
    {
      validator: (answer) => {
        const pending = answer.workspaceId === input.workspaceId ? approvals.get(answer.approvalId) : undefined;
        if (!pending) throw ApplicationFailure.create({ type: APPROVAL_REJECTIONS.notFound, message: `approvalId: no pending approval "${answer.approvalId}" in this chat`, nonRetryable: true });
        if (pending.answer) {
          throw ApplicationFailure.create({
            type: APPROVAL_REJECTIONS.alreadyAnswered,
            message: `approvalId: "${answer.approvalId}" was already answered (${pending.answer.approved ? 'approved' : 'denied'})`,
            details: [pending.answer],
            nonRetryable: true,
          });
        }
      },
    },
  );

  // Steering: taken until the turn decides its last hop; the model reads it at the next hop boundary.
  const steering: Array<{ id: string; text: string }> = [];
  const steeringIds = new Set<string>();
  let acceptingSteering = true;
  setHandler(
    steerUpdate,
    (message) => {
      if (!steeringIds.has(message.id)) {
        steeringIds.add(message.id);
        steering.push({ id: message.id, text: message.text });
      }
      return { id: message.id, accepted: true as const };
    },
    {
      validator: (message) => {
        if (message.workspaceId !== input.workspaceId) throw ApplicationFailure.create({ type: STEERING_REJECTIONS.notAccepting, message: 'No running turn in this chat', nonRetryable: true });
        if (!acceptingSteering) throw ApplicationFailure.create({ type: STEERING_REJECTIONS.notAccepting, message: 'The turn is finishing: send a new message instead', nonRetryable: true });
        if (!steeringIds.has(message.id) && steeringIds.size >= MAX_STEERING_MESSAGES) {
          throw ApplicationFailure.create({ type: STEERING_REJECTIONS.notAccepting, message: `A turn takes at most ${MAX_STEERING_MESSAGES} steering messages`, nonRetryable: true });
        }
      },
    },
  );

  const userText = messageText(input.userMessage.parts);
  const fastPath = isFastPath(userText);
  const answer = new AnswerBuilder();
  const hopUsages: HopUsageRecord[] = [];
  let agent: AgentConfiguration | undefined;
  let hopsRun = 0;
  let warning: { hop: number; text: string } | undefined;

  const finish = async (finishReason: FinishReason, errorText?: string, options: { cached?: boolean } = {}) => {
    state.status = 'finalizing';
    acceptingSteering = false;
    if (steering.length > 0) {
      // Steering that arrived after the last hop boundary (the turn hit a limit, stopped or failed):
      // no hop of this turn reads it, but the conversation keeps it, in order, for the next turn.
      const unread = steering.splice(0);
      await storeSteps.recordSteering.executeWithOptions({ ...STORE_STEP, summary: 'steering · unread' }, [
        { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, hop: state.hop + 1, messages: unread },
      ]);
      for (const message of unread) answer.addSteering(state.hop + 1, message.id, message.text);
    }
    await storeSteps.finalizeTurn.executeWithOptions({ ...STORE_STEP, summary: `finalize · ${finishReason}` }, [
      {
        turnId: input.turnId,
        conversationId: input.conversationId,
        requestId: input.requestId,
        messageId: input.messageId,
        userMessageId: input.userMessage.id,
        workspaceId: input.workspaceId,
        agentId: agent?.agentId,
        provider: agent?.provider,
        byok: agent?.byok ?? false,
        model: state.model ?? agent?.model ?? '',
        parts: answer.parts,
        finishReason,
        usage,
        hopUsages,
        ...(errorText ? { errorText } : {}),
        ...(warning ? { warning } : {}),
        ...(options.cached ? { cached: true } : {}),
      },
    ]);
  };

  const addUsage = (result: HopResult) => {
    usage.inputTokens += result.usage.inputTokens;
    usage.outputTokens += result.usage.outputTokens;
    hopUsages.push({
      hop: result.hop,
      attempt: result.attempt,
      model: result.model ?? agent!.model,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      latencyMs: result.latencyMs ?? 0,
      ...(result.timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs: result.timeToFirstTokenMs } : {}),
      estimated: result.usageEstimated ?? false,
      outcome: result.stopped ? 'cancelled' : 'completed',
    });
  };

  /**
   * One hop on the agent's model, then on each fallback model in order when it fails for good
   * (non-retryable, or out of retries). Each model's attempts are numbered apart (`streamAttempt`),
   * so a client drops a failed model's text before the next one streams.
   */
  const streamHop = async (hop: number, turnMessages: TurnMessage[], memories: RetrievedMemory[]): Promise<HopResult> => {
    const models = [agent!.model, ...(agent!.fallbackModels ?? [])];
    // A hop lost with its worker starts again after `restartIntervalMs`; one that failed waits the
    // agent's backoff, which the activity sets on its failure (turns recorded earlier: one interval).
    const llmRetry = agent!.llmRetry;
    const retry = llmRetry ? { ...LLM_HOP_RETRY, maximumAttempts: llmRetry.maximumAttempts, initialInterval: llmRetry.restartIntervalMs ?? llmRetry.initialIntervalMs } : LLM_HOP_RETRY;
    let failure: HopFailure | undefined;
    for (const [fallbackIndex, model] of models.entries()) {
      state.model = model;
      try {
        return await llmHops.streamCompletion.executeWithOptions(
          { ...llmHopOptions, retry, summary: `LLM hop ${hop} · ${model}${fallbackIndex > 0 ? ' (fallback)' : ''}` },
          [
            {
              turnId: input.turnId,
              conversationId: input.conversationId,
              workspaceId: input.workspaceId,
              requestId: input.requestId,
              userMessageId: input.userMessage.id,
              hop,
              model,
              fallbackIndex,
              agent: agent!,
              turnMessages,
              fastPath,
              memories: hop === 0 ? memories : [],
            },
          ],
        );
      } catch (error) {
        if (isCancellation(error)) throw error;
        failure = new HopFailure(error, partialTextOf(causeOf(error)));
        state.lastError = failure.message;
      }
    }
    throw failure!;
  };

  try {
    if (input.queuedBehind) {
      // Busy policy `queue`: this turn starts when the earlier one ended (durably: a restarted worker
      // goes on waiting), and its user message is stored after that turn's answer.
      state.status = 'queued';
      await storeSteps.publishQueueState.executeWithOptions({ ...STORE_STEP, summary: 'queued' }, [{ turnId: input.turnId, conversationId: input.conversationId, behindTurnId: input.queuedBehind, phase: 'queued' }]);
      await queueWait.awaitTurnEnd.executeWithOptions({ ...QUEUE_WAIT_STEP, summary: 'wait for the running turn' }, [{ conversationId: input.conversationId, turnId: input.queuedBehind }]);
      await storeSteps.publishQueueState.executeWithOptions({ ...STORE_STEP, summary: 'dequeued' }, [{ turnId: input.turnId, conversationId: input.conversationId, behindTurnId: input.queuedBehind, phase: 'dequeued' }]);
      state.status = 'starting';
    }
    const widgetMode = input.widgetMode ?? false;
    const memoryAllowed = !fastPath && memorySkipReason(userText, { widgetMode }) === undefined;
    const activation = { workspaceId: input.workspaceId, agentId: input.agentId, useSystemLlm: input.useSystemLlm, userText, fastPath, ...(input.toolHints ? { toolHints: input.toolHints } : {}) };
    let memories: RetrievedMemory[];
    if (startsInOneStep) {
      // One local step to the first token: the message stored while the agent activates, then memory
      // while the context guard measures the prompt. Its result is recorded, so the turn keeps its
      // configuration (and this turn's tools) to the end.
      // The summary names what the step may do: memory runs when the agent has it enabled too.
      const summary = `begin turn${memoryAllowed ? ' · memory' : ''}${fastPath ? '' : ' · context guard'}`;
      const begun = await storeSteps.beginTurn.executeWithOptions({ ...BEGIN_TURN_STEP, summary }, [
        {
          turnId: input.turnId,
          conversationId: input.conversationId,
          requestId: input.requestId,
          workspaceId: input.workspaceId,
          ...(input.userId ? { userId: input.userId } : {}),
          message: input.userMessage,
          freshStart: isFreshStart(userText),
          activation,
          ...(memoryAllowed ? { memory: { query: userText, widgetMode } } : {}),
          guardContext: !fastPath,
        },
      ]);
      agent = begun.agent;
      memories = begun.memory?.memories ?? [];
    } else {
      if (isFreshStart(userText)) {
        await storeSteps.recordContextReset.executeWithOptions({ ...STORE_STEP, summary: 'fresh start' }, [
          { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId },
        ]);
      }
      // Before turn-start-v1: persisting the message and activating the agent side by side, then
      // memory and the context guard side by side (two rounds of local activities).
      const [, activated] = await Promise.all([
        storeSteps.persistUserMessage.executeWithOptions({ ...STORE_STEP, summary: 'persist user message' }, [
          { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, message: input.userMessage },
        ]),
        storeSteps.activateAgent.executeWithOptions({ ...STORE_STEP, summary: 'activate agent' }, [activation]),
      ]);
      agent = activated;
      const guardedAgent = activated;
      const [recalled] = await Promise.all([
        memoryAllowed && activated.memoryEnabled
          ? memorySteps.retrieveMemory.executeWithOptions({ ...MEMORY_STEP, summary: 'memory' }, [
              { turnId: input.turnId, workspaceId: input.workspaceId, conversationId: input.conversationId, userId: input.userId, query: userText, widgetMode },
            ])
          : undefined,
        fastPath
          ? undefined
          : contextSteps.guardContext.executeWithOptions({ ...CONTEXT_GUARD_STEP, summary: 'context guard' }, [
              { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, userMessageId: input.userMessage.id, agent: guardedAgent },
            ]),
      ]);
      memories = recalled?.memories ?? [];
    }
    const useMemory = memoryAllowed && agent.memoryEnabled;
    state.activation = {
      agentId: agent.agentId,
      model: agent.model,
      ...(agent.connection ? { connection: { id: agent.connection.id, version: agent.connection.version, provider: agent.connection.provider } } : {}),
      skills: agent.skills ?? [],
      tools: agent.toolSelection?.tools.map((tool) => tool.name) ?? [],
      ...(agent.appActions ? { appActions: agent.appActions } : {}),
    };

    const tracker = new ToolExecutionTracker();
    const turnMessages: TurnMessage[] = [];
    // Since turn-start-v1 a call that runs records its own result: where it sits in its round, and its approval.
    const roundPositions = new Map<string, number>();
    const roundApprovals = new Map<string, { id: string; approved: boolean; reason?: string }>();
    const runTool: ToolRunner = (call, parsedArguments) =>
      toolCalls.executeTool.executeWithOptions({ ...TOOL_CALL, summary: `tool ${call.name}` }, [
        {
          ...(startsInOneStep
            ? { record: { requestId: input.requestId, position: roundPositions.get(call.id)!, arguments: call.arguments, ...(roundApprovals.has(call.id) ? { approval: roundApprovals.get(call.id)! } : {}) } }
            : {}),
          turnId: input.turnId,
          hop: state.hop,
          toolCallId: call.id,
          idempotencyKey: toolCallKey(input.turnId, state.hop, call.id),
          workspaceId: input.workspaceId,
          conversationId: input.conversationId,
          name: call.name,
          arguments: parsedArguments,
          allowedTools: agent!.allowedTools,
        },
      ]);
    /**
     * A tool round with approvals: calls of tools that need one are announced and wait (durably, up
     * to the agent's timeout) for the user's answers; denied calls do not run and the model reads
     * why, approved and ungated calls run once through the loop guard.
     */
    const runApprovedRound = async (hop: number, calls: readonly ToolCall[]): Promise<RecordedToolResult[]> => {
      const gated = agent!.approval ? calls.filter((call) => agent!.approval!.toolNames.includes(call.name)) : [];
      if (gated.length === 0) return runToolRound(tracker, calls, runTool);
      const round = gated.map((call) => ({ approvalId: `apr_${uuid4()}`, toolCallId: call.id, toolName: call.name }));
      for (const request of round) approvals.set(request.approvalId, { approvalId: request.approvalId, toolCallId: request.toolCallId });
      state.status = 'awaiting-approval';
      await storeSteps.publishApprovalRequests.executeWithOptions({ ...STORE_STEP, summary: `approval requests · hop ${hop}` }, [{ turnId: input.turnId, conversationId: input.conversationId, hop, requests: round }]);
      const timeoutSeconds = agent!.approval!.timeoutSeconds;
      const answered = () => round.every((request) => approvals.get(request.approvalId)!.answer !== undefined);
      if (!(await condition(answered, timeoutSeconds * 1000))) {
        for (const request of round) {
          const pending = approvals.get(request.approvalId)!;
          pending.answer ??= { approved: false, reason: approvalTimeoutReason(timeoutSeconds) };
        }
      }
      const decided = new Map(round.map((request) => [request.toolCallId, { id: request.approvalId, ...approvals.get(request.approvalId)!.answer! }]));
      await storeSteps.publishApprovalResponses.executeWithOptions({ ...STORE_STEP, summary: `approval answers · hop ${hop}` }, [
        { turnId: input.turnId, conversationId: input.conversationId, hop, responses: round.map((request) => ({ approvalId: request.approvalId, toolCallId: request.toolCallId, ...approvals.get(request.approvalId)!.answer! })) },
      ]);
      state.status = 'running-tools';
      for (const [toolCallId, approval] of decided) roundApprovals.set(toolCallId, approval);
      const runnable = calls.filter((call) => decided.get(call.id)?.approved !== false);
      const ran = runnable.length > 0 ? await runToolRound(tracker, runnable, runTool) : [];
      return calls.map((call) => {
        const approval = decided.get(call.id);
        if (approval && !approval.approved) {
          return {
            toolCallId: call.id,
            toolName: call.name,
            input: call.input.ok ? call.input.value : call.arguments,
            arguments: call.arguments,
            content: deniedToolText(approval.reason),
            isError: true,
            output: null,
            decision: 'denied' as const,
            approval,
          };
        }
        const result = ran.find((outcome) => outcome.toolCallId === call.id)!;
        return approval ? { ...result, approval } : result;
      });
    };
    let finishReason: FinishReason = 'other';
    let toolRounds = 0;
    const spend = new SpendMeter(agent.budget);
    // Bounded: at most one hop per tool round plus the final answer (the limits end the loop).
    for (let hop = 0; ; hop++) {
      state.hop = hop;
      if (steering.length > 0) {
        // The hop boundary: steering messages that arrived so far join the model's context, in order.
        const batch = steering.splice(0);
        await storeSteps.recordSteering.executeWithOptions({ ...STORE_STEP, summary: `steering · hop ${hop}` }, [
          { turnId: input.turnId, conversationId: input.conversationId, requestId: input.requestId, hop, messages: batch },
        ]);
        for (const message of batch) {
          turnMessages.push({ role: 'user', content: message.text });
          answer.addSteering(hop, message.id, message.text);
        }
      }
      const capped = spend.reached();
      if (capped) {
        // A daily cap was spent before this turn (or by its hops so far): no model call starts.
        warning = { hop, text: capReachedText(capped) };
        answer.addWarning(hop, warning.text);
        finishReason = 'spend-cap-reached';
        break;
      }
      state.status = 'streaming';
      const result = await streamHop(hop, turnMessages, memories);
      hopsRun = hop + 1;
      addUsage(result);
      spend.add(result.model ?? agent.model, result.usage);
      answer.addHop(result);
      if (result.stopped) {
        // The stop reached the hop over Redis. If the workflow's cancellation arrived too, the turn
        // ends cancelled (below); otherwise it completes with finish reason `cancelled`.
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Stopped by the user');
        await finish('cancelled');
        state.status = 'cancelled';
        upsertSearchAttributes([{ key: TURN_STATUS, value: 'cancelled' }]);
        return { messageId: input.messageId, finishReason: 'cancelled', text: answer.text, hops: hopsRun, usage };
      }
      finishReason = result.finishReason;
      if (result.toolCalls.length === 0) {
        // A steering message that arrived while this hop answered gets a hop of its own (a round).
        if (steering.length > 0 && toolRounds < agent.maxHops) {
          toolRounds += 1;
          turnMessages.push({ role: 'assistant', content: result.content, toolCalls: [] });
          continue;
        }
        acceptingSteering = false;
        break;
      }
      const close = spend.takeWarning();
      if (close) {
        const notice = capWarningText(close);
        await storeSteps.publishNotice.executeWithOptions({ ...STORE_STEP, summary: 'spend warning' }, [{ turnId: input.turnId, hop, text: notice }]);
        answer.addNotice(hop, notice);
      }

      // The seed checks the limit before it runs a round: at the limit (or at a spend cap) nothing
      // runs, every call is answered as skipped, and the turn ends with the warning.
      const capReached = spend.reached();
      const limitReached = capReached !== undefined || toolRounds >= agent.maxHops;
      state.status = 'running-tools';
      roundPositions.clear();
      roundApprovals.clear();
      result.toolCalls.forEach((call, position) => roundPositions.set(call.id, position));
      const limitReason = capReached ? 'the spend cap was reached' : toolLimitReason(agent.maxHops);
      const outcomes = limitReached
        ? await runToolRound(tracker, result.toolCalls, runTool, { limitReachedReason: limitReason })
        : await runApprovedRound(hop, result.toolCalls);
      state.toolCalls += outcomes.filter((outcome) => outcome.decision === 'executed').length;
      // The calls that ran recorded their results (since turn-start-v1); the others are recorded here.
      const unrecorded = startsInOneStep ? outcomes.flatMap((outcome, position) => (outcome.decision === 'executed' ? [] : [{ outcome, position }])) : outcomes.map((outcome, position) => ({ outcome, position }));
      if (unrecorded.length > 0) {
        await storeSteps.recordToolResults.executeWithOptions({ ...STORE_STEP, summary: `tool results · hop ${hop}` }, [
          {
            turnId: input.turnId,
            conversationId: input.conversationId,
            requestId: input.requestId,
            hop,
            results: unrecorded.map(({ outcome }) => outcome),
            ...(startsInOneStep ? { positions: unrecorded.map(({ position }) => position) } : {}),
          },
        ]);
      }
      answer.addToolResults(outcomes);
      if (limitReached) {
        warning = { hop, text: capReached ? capReachedText(capReached) : hopLimitWarning(agent.maxHops) };
        answer.addWarning(hop, warning.text);
        finishReason = capReached ? 'spend-cap-reached' : 'tool-limit-reached';
        break;
      }
      toolRounds += 1;
      turnMessages.push({ role: 'assistant', content: result.content, toolCalls: result.toolCalls.map(({ id, name, arguments: text }) => ({ id, name, arguments: text })) });
      for (const outcome of outcomes) turnMessages.push({ role: 'tool', toolCallId: outcome.toolCallId, content: outcome.content });
    }
    await finish(finishReason);
    state.status = 'completed';
    upsertSearchAttributes([{ key: TURN_STATUS, value: 'completed' }]);
    const model = state.model ?? agent.model;
    const answered = agent;
    const extractionInput = {
      turnId: input.turnId,
      workspaceId: input.workspaceId,
      conversationId: input.conversationId,
      userText,
      assistantText: answer.text,
      userId: input.userId,
      // The model that answered: when the agent's model failed over, its fallback learns too.
      model,
      agentId: answered.agentId,
      ...(answered.connection ? { connection: answered.connection } : {}),
      widgetMode,
    };
    // The answer is stored and streamed already: a failed title or extraction is logged, never a failed turn.
    const logged = async (step: Promise<unknown>, what: string) => {
      try {
        await step;
      } catch (error) {
        if (isCancellation(error)) throw error;
        log.warn(`${what} failed; the answer stands`, { turnId: input.turnId, error: failureMessage(error) });
      }
    };
    if (startsInOneStep || patched(AFTER_TURN_PATCH)) {
      const titleInput = { conversationId: input.conversationId, workspaceId: input.workspaceId, model, turnId: input.turnId, ...(answered.connection ? { connection: answered.connection } : {}) };
      if (input.titleNeeded || useMemory) {
        const summary = input.titleNeeded && useMemory ? 'title and memories' : input.titleNeeded ? `title · ${model}` : 'extract memories';
        await logged(
          afterAnswerSteps.afterAnswer.executeWithOptions({ ...AFTER_ANSWER_STEP, summary }, [
            { ...(input.titleNeeded ? { title: titleInput } : {}), ...(useMemory ? { memory: extractionInput } : {}) },
          ]),
          'title or memory extraction',
        );
      }
    } else {
      if (input.titleNeeded) await startConversationTitle(input, model, answered.connection);
      // Extraction asks the agent's model: a regular activity with its own timeout and retries.
      if (useMemory) await logged(afterAnswerSteps.extractMemories.executeWithOptions({ ...AFTER_ANSWER_STEP, summary: 'extract memories' }, [extractionInput]), 'memory extraction');
    }
    return { messageId: input.messageId, finishReason, text: answer.text, hops: hopsRun, usage };
  } catch (error) {
    if (isCancellation(error)) {
      const stoppedHop = stoppedHopOf(error);
      if (stoppedHop) {
        addUsage(stoppedHop);
        answer.addHop(stoppedHop);
      }
      await CancellationScope.nonCancellable(() => finish('cancelled'));
      state.status = 'cancelled';
      upsertSearchAttributes([{ key: TURN_STATUS, value: 'cancelled' }]);
      throw error;
    }
    const message = failureMessage(error);
    state.lastError = message;
    if (error instanceof HopFailure) {
      // The seed's graceful degradation: the answer stored for the same user message by an earlier
      // turn, if there is one; otherwise the partial answer is kept with a clear error.
      const cached = await storeSteps.answerFromCache.executeWithOptions({ ...STORE_STEP, summary: 'cached answer' }, [
        { turnId: input.turnId, conversationId: input.conversationId, userMessageId: input.userMessage.id, hop: state.hop },
      ]);
      if (cached) {
        answer.addStep(cached.text);
        await finish('stop', undefined, { cached: true });
        state.status = 'completed';
        upsertSearchAttributes([{ key: TURN_STATUS, value: 'completed' }]);
        return { messageId: input.messageId, finishReason: 'stop', text: answer.text, hops: hopsRun, usage };
      }
      answer.addStep(error.partialText);
    }
    answer.addError(message);
    await finish('error', message);
    state.status = 'failed';
    upsertSearchAttributes([{ key: TURN_STATUS, value: 'failed' }]);
    throw ApplicationFailure.nonRetryable(`Turn failed: ${message}`, 'TurnFailed');
  }
}
