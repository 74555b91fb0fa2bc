/**
 * Chat turns on a worker without a workflow cache (`maxCachedWorkflows: 0`): no sticky queue, so
 * every workflow task starts from an empty sandbox and replays the turn's history so far before it
 * runs new code. Any difference between first execution and replay (nondeterminism) fails these
 * turns here, instead of after a worker restart in production.
 *
 * The worker is wired like test/support/stack.ts wires its own, on this file's task queue; turns
 * start directly with the Temporal client (no API), after seeding the workspace and conversation.
 */
import { activityTypes } from '../../src/replay/workflow-history';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { connectTemporalClient } from '../../src/clients';
import { ChatRepository } from '../../src/db/chat-repository';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger } from '../../src/logger';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { assistantMessageId, turnWorkflowId } from '../../src/shared/ids';
import type { ChatTurnInput } from '../../src/shared/turn';
import { installTemporalRuntime } from '../../src/worker/create-worker';
import type { chatTurn } from '../../src/workflows/chat-turn';
import { startWorker, type RunningWorker } from '../../worker';
import { testConfiguration } from '../support/stack';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest, whose global setup sets it.`);
  return value;
}

const configuration = testConfiguration();
const unique = configuration.temporal.taskQueue.slice('test-'.length);
const taskQueue = configuration.temporal.taskQueue;
const workspaceId = `ws-${unique}`;
const userId = `${workspaceId}-user`;

let llm: ScriptedLlm;
let pool: Pool;
let temporal: Client;
let worker: RunningWorker;

beforeAll(async () => {
  llm = await startScriptedLlm();
  pool = new Pool({ connectionString: configuration.databaseUrl, max: 5 });
  temporal = await connectTemporalClient(configuration, configuration.temporal.address!);
  installTemporalRuntime('ERROR');
  worker = await startWorker(configuration, configuration.temporal.address!, { baseUrl: llm.url, apiKey: 'scripted-test-key' }, createLogger(configuration.logLevel, 'test'), {
    workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
    overrides: { maxCachedWorkflows: 0, shutdownGraceTime: '1 second' },
  });
  await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: workspaceId, userId, userName: 'Test user', apiKey: generateApiKey() });
});

afterAll(async () => {
  if (worker) {
    worker.worker.shutdown();
    await worker.done;
  }
  await temporal?.connection.close();
  await llm?.close();
  await pool?.end();
});

async function createToolAgent(): Promise<string> {
  const id = `agent-${randomUUID().slice(0, 8)}`;
  await pool.query(`INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools) VALUES ($1, $2, $3, $4, $5)`, [id, workspaceId, id, 'You are a test agent.', ['test_*']]);
  return id;
}

/** Runs one turn to its end through Temporal and returns its result and history. */
async function runTurn(text: string, agentId?: string) {
  const requestId = `msg-${randomUUID()}`;
  const conversation = await new ChatRepository(pool).claimConversation(workspaceId, `chat-${randomUUID()}`, userId, text);
  const turnId = turnWorkflowId(conversation.id, requestId);
  const input: ChatTurnInput = {
    turnId,
    conversationId: conversation.id,
    requestId,
    messageId: assistantMessageId(requestId),
    workspaceId,
    userId,
    ...(agentId ? { agentId } : {}),
    userMessage: { id: requestId, role: 'user', parts: [{ type: 'text', text }] },
    options: { heartbeatTimeoutMs: configuration.llm.heartbeatTimeoutMs, llmStartToCloseTimeoutMs: configuration.llm.startToCloseTimeoutMs },
  };
  const result = await temporal.workflow.execute<typeof chatTurn>('chatTurn', { taskQueue, workflowId: turnId, args: [input] });
  const history = await temporal.workflow.getHandle(turnId).fetchHistory();
  return { result, history, conversationId: conversation.id };
}

/** The task queues the turn's workflow tasks were scheduled on (a cached worker gets its sticky queue). */
function workflowTaskQueues(history: Awaited<ReturnType<typeof runTurn>>['history']): string[] {
  return (history.events ?? []).flatMap((event) => {
    const scheduled = event.workflowTaskScheduledEventAttributes;
    return scheduled ? [scheduled.taskQueue?.name ?? ''] : [];
  });
}

const scheduledActivities = activityTypes;

describe('a worker without a workflow cache', () => {
  it('runs a 3-hop tool turn to the same answer, replaying the history on every workflow task', async () => {
    const agentId = await createToolAgent();
    const { result, history, conversationId } = await runTurn(`use test_record_side_effect for ${unique} [[hops=3]]`, agentId);

    expect(result).toMatchObject({ finishReason: 'stop', hops: 4 });
    expect(result.text).toMatch(/^Tool results: /);
    const activities = scheduledActivities(history);
    expect(activities.filter((name) => name === 'executeTool')).toHaveLength(3);
    // Each call that ran stored its own result (turn-start-v1): one per hop, none by a separate step.
    expect(activities.filter((name) => name === 'recordToolResults')).toHaveLength(0);
    const stored = await pool.query(`SELECT extra->>'hop' AS hop FROM chat_events WHERE conversation_id = $1 AND type = 'tool-result' ORDER BY seq`, [conversationId]);
    expect(stored.rows.map((row: { hop: string }) => row.hop)).toEqual(['0', '1', '2']);
    // Every task went to the normal queue, none to a sticky one: each was a replay from history.
    const queues = workflowTaskQueues(history);
    // At least one task per completed regular activity (4 LLM hops, 3 tools).
    expect(queues.length).toBeGreaterThanOrEqual(7);
    expect(new Set(queues)).toEqual(new Set([taskQueue]));
  });

  it('runs a plain turn to the same answer', async () => {
    const text = `What would a durable chat do without a cache ${unique}?`;
    const { result, history } = await runTurn(text);

    expect(result).toMatchObject({ finishReason: 'stop', hops: 1, text: `You said: ${text}` });
    expect(new Set(workflowTaskQueues(history))).toEqual(new Set([taskQueue]));
  });
});
