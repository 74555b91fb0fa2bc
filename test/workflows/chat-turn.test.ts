/**
 * The `chatTurn` workflow's decisions with plain fake activities (the samples-typescript pattern):
 * a `TestWorkflowEnvironment` on the test run's Temporal dev server, a worker with the real
 * workflow bundle and activities that are small functions recording their calls. No Postgres, Redis
 * or model: what is under test is the order of steps and what the workflow decides from their
 * results (the tool-round limit, fallback models, the cached answer, a stop, a failure).
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { StreamCompletionInput } from '../../src/activities/llm';
import type { ExecuteToolInput } from '../../src/activities/tools';
import type { FinalizeTurnInput, PublishApprovalRequestsInput, PublishApprovalResponsesInput, RecordToolResultsInput } from '../../src/activities/store';
import { parseToolArguments } from '../../src/shared/tool-tracker';
import type { AgentConfiguration, ChatTurnInput, HopResult } from '../../src/shared/turn';
import { hopLimitWarning, type chatTurn } from '../../src/workflows/chat-turn';
import { installTemporalRuntime } from '../../src/worker/create-worker';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest, whose global setup sets it.`);
  return value;
}

const agent: AgentConfiguration = {
  agentId: 'agent-1',
  workspaceId: 'ws-1',
  name: 'Agent',
  model: 'primary-model',
  fallbackModels: ['fallback-model'],
  systemPrompt: 'You are a test agent.',
  maxHops: 2,
  allowedTools: ['test_*'],
  contextWindow: 128000,
  memoryEnabled: false,
  llmRetry: { maximumAttempts: 1, initialIntervalMs: 10 },
};

/** How the fake model answers a hop: with text, with a tool call, by failing, or by waiting to be stopped. */
type ScriptedHop = { text: string } | { tool: string } | { tools: string[] } | { fail: 'non-retryable' } | { waitForStop: string };

interface Fakes {
  hops: Array<{ hop: number; model: string }>;
  tools: string[];
  recorded: RecordToolResultsInput[];
  finalized: FinalizeTurnInput[];
  cached: string | null;
  approvalRequests: PublishApprovalRequestsInput[];
  approvalResponses: PublishApprovalResponsesInput[];
}

let environment: TestWorkflowEnvironment;

beforeAll(async () => {
  installTemporalRuntime('ERROR');
  environment = await TestWorkflowEnvironment.createFromExistingServer({ address: required('TEST_TEMPORAL_ADDRESS') });
});

afterAll(async () => {
  await environment?.teardown();
});

function hopResult(input: StreamCompletionInput, fields: Partial<HopResult>): HopResult {
  return { hop: input.hop, attempt: 1, model: input.model, content: '', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 10, outputTokens: 5 }, ...fields };
}

/**
 * A round's recorded tool results in the model's order, whoever recorded them (a call that ran
 * records its own; `recordToolResults` the others). Fails when a position is recorded twice or missing.
 */
function recordedRound(fakes: Fakes, hop: number) {
  const byPosition = new Map<number, RecordToolResultsInput['results'][number]>();
  for (const entry of fakes.recorded.filter((recorded) => recorded.hop === hop)) {
    entry.results.forEach((result, index) => {
      const position = entry.positions?.[index] ?? index;
      if (byPosition.has(position)) throw new Error(`hop ${hop}: position ${position} recorded twice`);
      byPosition.set(position, result);
    });
  }
  return [...byPosition.keys()].sort((a, b) => a - b).map((position, index) => {
    if (position !== index) throw new Error(`hop ${hop}: position ${index} not recorded`);
    return byPosition.get(position)!;
  });
}

/** Runs one turn on a fresh task queue with activities scripted per model. */
async function runTurn(
  script: (input: StreamCompletionInput) => ScriptedHop,
  options: { cached?: string | null; agent?: AgentConfiguration; whileRunning?: (handle: WorkflowHandle, fakes: Fakes) => Promise<void> } = {},
) {
  const fakes: Fakes = { hops: [], tools: [], recorded: [], finalized: [], cached: options.cached ?? null, approvalRequests: [], approvalResponses: [] };
  const activities = {
    async beginTurn() {
      return { agent: options.agent ?? agent, userMessage: { seq: 1, created: true } };
    },
    async publishApprovalRequests(input: PublishApprovalRequestsInput) {
      fakes.approvalRequests.push(input);
    },
    async publishApprovalResponses(input: PublishApprovalResponsesInput) {
      fakes.approvalResponses.push(input);
    },
    async rememberExchange() {},
    async executeTool(input: ExecuteToolInput) {
      fakes.tools.push(input.name);
      const result = { content: `${input.name} done`, isError: false, output: { done: true } };
      // Like the real activity: a call asked to record its result records it at its position in the round.
      if (input.record) {
        const recorded = { toolCallId: input.toolCallId, toolName: input.name, input: input.arguments, ...result, decision: 'executed' as const };
        fakes.recorded.push({ turnId: input.turnId, conversationId: input.conversationId, requestId: input.record.requestId, hop: input.hop, positions: [input.record.position], results: [recorded] });
      }
      return result;
    },
    async recordToolResults(input: RecordToolResultsInput) {
      fakes.recorded.push(input);
    },
    async finalizeTurn(input: FinalizeTurnInput) {
      fakes.finalized.push(input);
      return { seq: 2 };
    },
    async answerFromCache() {
      return fakes.cached === null ? null : { text: fakes.cached };
    },
    async streamCompletion(input: StreamCompletionInput): Promise<HopResult> {
      fakes.hops.push({ hop: input.hop, model: input.model ?? '' });
      const hop = script(input);
      if ('text' in hop) return hopResult(input, { content: hop.text });
      if ('tool' in hop || 'tools' in hop) {
        const args = `{"round":${input.hop}}`;
        const names = 'tool' in hop ? [hop.tool] : hop.tools;
        const toolCalls = names.map((name, index) => ({ id: index === 0 ? `call_${input.hop}` : `call_${input.hop}_${index}`, name, arguments: args, input: parseToolArguments(args) }));
        return hopResult(input, { toolCalls, finishReason: 'tool-calls' });
      }
      if ('fail' in hop) throw ApplicationFailure.create({ message: `${input.model} is down`, type: 'LlmServerError', nonRetryable: true, details: [{ partialText: `${input.model} said half` }] });
      // Like the real hop: it heartbeats, which is how Temporal's cancellation reaches it.
      const context = Context.current();
      const heartbeat = setInterval(() => context.heartbeat(), 200);
      await context.cancelled.catch(() => undefined);
      clearInterval(heartbeat);
      throw new CancelledFailure('Stopped by the user', [hopResult(input, { content: hop.waitForStop, stopped: true, finishReason: 'cancelled' })]);
    },
  };
  const taskQueue = `workflow-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: environment.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
    activities,
  });
  const turnId = `chat:ws-1/chat-${randomUUID()}:m1`;
  const input: ChatTurnInput = {
    turnId,
    conversationId: 'ws-1/chat',
    requestId: 'm1',
    messageId: 'm1~assistant',
    workspaceId: 'ws-1',
    userId: 'user-1',
    userMessage: { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Please use the tools a few times' }] },
    options: { heartbeatTimeoutMs: 2000, llmStartToCloseTimeoutMs: 60_000 },
  };
  const outcome = await worker.runUntil(async () => {
    const handle = await environment.client.workflow.start<typeof chatTurn>('chatTurn', { taskQueue, workflowId: turnId, args: [input] });
    if (options.whileRunning) await options.whileRunning(handle, fakes);
    return handle.result().then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
  });
  return { fakes, ...outcome };
}

describe('chatTurn decisions', () => {
  it('checks the tool-round limit before a round: at the limit no tool runs and the turn ends with the warning', async () => {
    const { fakes, result } = await runTurn(() => ({ tool: 'test_echo' }));
    expect(fakes.hops.map((hop) => hop.hop)).toEqual([0, 1, 2]);
    expect(fakes.tools).toEqual(['test_echo', 'test_echo']);
    expect([0, 1, 2].map((hop) => recordedRound(fakes, hop).map((entry) => entry.decision))).toEqual([['executed'], ['executed'], ['skipped']]);
    expect(result).toMatchObject({ finishReason: 'tool-limit-reached', hops: 3 });
    const finalized = fakes.finalized[0]!;
    expect(finalized.warning).toEqual({ hop: 2, text: hopLimitWarning(2) });
    expect(finalized.parts).toContainEqual({ type: 'data-warning', data: { hop: 2, text: hopLimitWarning(2) } });
  });

  it('falls back to the next model when the agent model fails for good', async () => {
    const { fakes, result } = await runTurn((input) => (input.model === 'primary-model' ? { fail: 'non-retryable' } : { text: 'Answer from the fallback.' }));
    expect(fakes.hops).toEqual([
      { hop: 0, model: 'primary-model' },
      { hop: 0, model: 'fallback-model' },
    ]);
    expect(result).toMatchObject({ finishReason: 'stop', text: 'Answer from the fallback.' });
    expect(fakes.finalized[0]).toMatchObject({ model: 'fallback-model', finishReason: 'stop' });
  });

  it('answers with the stored answer for the same message when every model failed', async () => {
    const { fakes, result } = await runTurn(() => ({ fail: 'non-retryable' }), { cached: 'An answer stored earlier.' });
    expect(fakes.hops.map((hop) => hop.model)).toEqual(['primary-model', 'fallback-model']);
    expect(result).toMatchObject({ finishReason: 'stop', text: 'An answer stored earlier.' });
    expect(fakes.finalized[0]).toMatchObject({ finishReason: 'stop', cached: true });
  });

  it('keeps the partial answer with a clear error when every model failed and nothing is cached', async () => {
    const { fakes, error } = await runTurn(() => ({ fail: 'non-retryable' }));
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const finalized = fakes.finalized[0]!;
    expect(finalized.finishReason).toBe('error');
    expect(finalized.errorText).toBe('fallback-model is down');
    expect(finalized.parts).toEqual([
      { type: 'step-start' },
      { type: 'text', text: 'fallback-model said half' },
      { type: 'data-error', data: { errorText: 'fallback-model is down' } },
    ]);
  });

  it('ends a stopped turn cancelled, with the text the hop streamed and its usage', async () => {
    const { fakes, error } = await runTurn(() => ({ waitForStop: 'Streamed until the st' }), {
      whileRunning: async (handle, running) => {
        while (running.hops.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        await handle.cancel();
      },
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const finalized = fakes.finalized[0]!;
    expect(finalized.finishReason).toBe('cancelled');
    expect(finalized.parts).toEqual([{ type: 'step-start' }, { type: 'text', text: 'Streamed until the st' }]);
    expect(finalized.hopUsages).toEqual([expect.objectContaining({ hop: 0, outcome: 'cancelled', inputTokens: 10, outputTokens: 5 })]);
  });

  it('waits for approvals: a wrong workspace and a second answer are refused before history, the denied call never runs', async () => {
    const gated: AgentConfiguration = { ...agent, approval: { toolNames: ['test_gated'], timeoutSeconds: 60 } };
    const refusals: string[] = [];
    const { fakes, result } = await runTurn((input) => (input.hop === 0 ? { tools: ['test_gated', 'test_free'] } : { text: 'Done.' }), {
      agent: gated,
      whileRunning: async (handle, running) => {
        while (running.approvalRequests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        const [request] = running.approvalRequests[0]!.requests;
        const answer = (workspaceId: string, approved: boolean) => handle.executeUpdate('approveTool', { args: [{ approvalId: request!.approvalId, approved, reason: 'no', workspaceId }] });
        await answer('ws-other', true).catch((error: unknown) => refusals.push(((error as WorkflowUpdateFailedError).cause as ApplicationFailure).type ?? ''));
        await expect(answer('ws-1', false)).resolves.toMatchObject({ approvalId: request!.approvalId, toolCallId: 'call_0', approved: false });
        await answer('ws-1', true).catch((error: unknown) => refusals.push(((error as WorkflowUpdateFailedError).cause as ApplicationFailure).type ?? ''));
      },
    });
    expect(refusals).toEqual(['ApprovalNotFound', 'ApprovalAlreadyAnswered']);
    expect(fakes.approvalRequests[0]!.requests.map((request) => request.toolCallId)).toEqual(['call_0']);
    expect(fakes.tools).toEqual(['test_free']);
    expect(recordedRound(fakes, 0).map((entry) => [entry.toolCallId, entry.decision])).toEqual([
      ['call_0', 'denied'],
      ['call_0_1', 'executed'],
    ]);
    expect(fakes.approvalResponses[0]!.responses).toEqual([{ approvalId: fakes.approvalRequests[0]!.requests[0]!.approvalId, toolCallId: 'call_0', approved: false, reason: 'no' }]);
    expect(result).toMatchObject({ finishReason: 'stop', text: 'Done.' });
  });
});
