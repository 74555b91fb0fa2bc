/**
 * Chaos: workers are real child processes (`node --import tsx worker.ts`) and die by `kill -9` at
 * chosen points of a turn — mid-stream, between hops, during a tool activity, during finalisation —
 * with a second worker running. After every kill the turn must complete, the persisted answer must
 * equal what the real `ai` 7 client shows (live, and resumed after the turn, where `reset-step` has
 * removed every failed attempt), the Redis log must have no gap, a tool call that had completed must
 * not run again and a tool interrupted mid-run must run again under the same idempotency key.
 *
 * The stack is built here rather than with `startTestStack`, which always runs an in-process worker
 * on its queue: this file runs the API, the scripted LLM and Postgres/Redis/Temporal clients in the
 * jest process and only child-process workers on its own task queue, so every activity runs in a
 * process that can be killed.
 *
 * Which worker dies: two workers run at all times. At a kill point the test asks Temporal which
 * worker runs the turn's started activity (`describe().pendingActivities[].lastWorkerIdentity`, the
 * SDK default identity `<pid>@<host>`) and kills that one, so kills land; with no activity running it
 * kills the worker that completed the last workflow task (it holds the turn in its sticky cache), and
 * failing that one chosen by the seeded PRNG. A fresh worker is started right after every kill, so
 * two run again before the next kill point. Deterministic points (a tool blocked inside its insert,
 * an LLM activity that published hop-end but has not reported, finalisation) are held in place with
 * Postgres locks taken by the test, then the process is killed and the lock released.
 *
 * The 20-kill run draws its kill points from a mulberry32 PRNG; the seed is in the test name and in
 * every failure message, and `CHAOS_SEED=<n>` replays it (which worker Temporal hands a task to is not
 * seeded, so a replay repeats the points, not every timing). Each kill logs one line: what the killed
 * worker was running, kill → hop-restart, kill → first delta of the retried attempt (mid-stream kills),
 * kill → turn completed, and the timeouts Temporal recorded; p50/p95 are printed at the end.
 * A turn must complete within RECOVERY_BUDGET_MS of its kill (see there).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { Pool, type PoolClient } from 'pg';
import { startApiProcess } from '../../src/api/main';
import type { RunningApi } from '../../src/api/server';
import { connectTemporalClient } from '../../src/clients';
import type { Configuration } from '../../src/config';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger } from '../../src/logger';
import { longAnswer } from '../../src/scripted-llm/answers';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { conversationKey, turnWorkflowId } from '../../src/shared/ids';
import { messageText } from '../../src/shared/messages';
import type { StreamEvent } from '../../src/shared/stream-events';
import type { ChatTurnResult } from '../../src/shared/turn';
import { compareEntryIds, decodeLiveMessages } from '../../src/stream/event-log';
import { turnStreamKeys } from '../../src/stream/keys';
import { runAiClient, type AiClientResult } from '../support/ai-client';
import { testConfiguration } from '../support/stack';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// ---------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------

const SEED = process.env.CHAOS_SEED !== undefined && process.env.CHAOS_SEED !== '' ? Number(process.env.CHAOS_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
const RANDOM_KILLS = 20;
/**
 * How long after a kill the turn must have completed. DESIGN: "A worker that dies mid-turn costs the
 * user a few seconds, never the turn." Heartbeat timeout (2 s) + retry backoff (1-2 s) + a sticky
 * workflow task falling back to the shared queue (up to 10 s) + re-streaming the killed hop (5 s for the
 * long answer) fit; waiting for a 30 s or 2 min start-to-close timeout does not.
 * `CHAOS_RECOVERY_BUDGET_MS` raises it to check correctness alone.
 */
const RECOVERY_BUDGET_MS = Number(process.env.CHAOS_RECOVERY_BUDGET_MS || 25_000);

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const integerBetween = (random: () => number, low: number, high: number) => low + Math.floor(random() * (high - low + 1));

/** Runs `body`; a failure is re-thrown with the seed (and how to replay it) in front of its message. */
async function withSeed<T>(label: string, body: () => Promise<T>, context: () => string = () => ''): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const original = error instanceof Error ? error : new Error(String(error));
    const prefix = `[chaos seed ${SEED}; replay with CHAOS_SEED=${SEED}] ${label}`;
    const extra = context();
    const wrapped = new Error(`${prefix}\n${original.message}${extra ? `\n${extra}` : ''}`);
    wrapped.stack = `${prefix}\n${original.stack ?? original.message}${extra ? `\n${extra}` : ''}`;
    throw wrapped;
  }
}

// ---------------------------------------------------------------------------------------------
// The stack: API, scripted LLM and clients in-process; workers as child processes
// ---------------------------------------------------------------------------------------------

let configuration: Configuration;
let llm: ScriptedLlm;
let pool: Pool;
let redis: Redis;
let watcher: Redis;
let temporal: Client;
let api: RunningApi;
let apiKey: string;
let workspaceId: string;
const filesRoot = path.join(os.tmpdir(), `durable-chat-chaos-files-${randomUUID().slice(0, 8)}`);

/** Live workers, every worker ever started (for output on failure), and replacements on their way. */
const live: WorkerProcess[] = [];
const everyWorker: WorkerProcess[] = [];
const starting = new Set<Promise<WorkerProcess>>();

function workerEnvironment() {
  return {
    TEMPORAL_ADDRESS: configuration.temporal.address!,
    DATABASE_URL: configuration.databaseUrl,
    REDIS_URL: configuration.redis.url,
    REDIS_KEY_PREFIX: configuration.redis.keyPrefix,
    TEMPORAL_TASK_QUEUE: configuration.temporal.taskQueue,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: 'scripted-test-key',
    LLM_HEARTBEAT_TIMEOUT_MS: '2000',
    WORKSPACE_FILES_ROOT: filesRoot,
    // The finalisation kill holds the conversation row; batched delta persistence would queue behind it.
    PERSIST_DELTAS: 'false',
  };
}

function spawnWorker(): Promise<WorkerProcess> {
  const started = startWorkerProcess(workerEnvironment()).then((worker) => {
    live.push(worker);
    everyWorker.push(worker);
    return worker;
  });
  starting.add(started);
  void started.finally(() => starting.delete(started)).catch(() => undefined);
  return started;
}

/** Waits for replacements on their way and starts more until two workers run. */
async function ensureTwoWorkers(): Promise<void> {
  await Promise.all([...starting]);
  while (live.length < 2) await spawnWorker();
}

function workerOutputs(): string {
  // The last few workers: the killed one and those that took over.
  return everyWorker.slice(-6).map((worker) => `--- worker ${worker.pid}${live.includes(worker) ? '' : ' (killed)'} (last 3000 chars) ---\n${worker.output().slice(-3000)}`).join('\n');
}

beforeAll(async () => {
  const unique = randomUUID().slice(0, 8);
  configuration = testConfiguration({
    heartbeatTimeoutMs: 2000,
    environment: { TEMPORAL_TASK_QUEUE: `chaos-${unique}`, REDIS_KEY_PREFIX: `dc-chaos-${unique}:`, WORKSPACE_FILES_ROOT: filesRoot },
  });
  llm = await startScriptedLlm();
  const workers = [spawnWorker(), spawnWorker()];
  pool = new Pool({ connectionString: configuration.databaseUrl, max: 10 });
  redis = new Redis(configuration.redis.url);
  watcher = new Redis(configuration.redis.url);
  watcher.on('pmessage', (pattern: string, channel: string, message: string) => watches.get(pattern)?.push(channel, message));
  temporal = await connectTemporalClient(configuration, configuration.temporal.address!);
  api = await startApiProcess(configuration, configuration.temporal.address!, createLogger(configuration.logLevel, 'chaos-api'), 0);

  workspaceId = `ws-chaos-${unique}`;
  apiKey = generateApiKey();
  await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: workspaceId, userId: `${workspaceId}-user`, userName: 'Chaos', apiKey });
  // The `ai` client sends no agentId, so the chaos agent is the workspace default: test tools, no memory.
  await pool.query('UPDATE agents SET is_default = false WHERE workspace_id = $1', [workspaceId]);
  await pool.query(
    `INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, max_hops, context_window, memory_enabled, is_default)
     VALUES ($1, $2, 'Chaos agent', 'You are a test agent.', $3, 10, 128000, false, true)`,
    [`${workspaceId}-chaos`, workspaceId, ['test_*']],
  );
  await Promise.all(workers);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([...starting]);
  await Promise.all(
    live.splice(0).map(async (worker) => {
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker.kill('SIGKILL'), 5000);
      await worker.exited;
      clearTimeout(timer);
    }),
  );
  await Promise.all(everyWorker.map((worker) => worker.exited));
  await api?.stop();
  await temporal?.connection.close();
  await llm?.close();
  for (const connection of [redis, watcher]) connection?.disconnect();
  await pool?.end();
  printFigures();
}, 60_000);

// ---------------------------------------------------------------------------------------------
// Watching a turn's events live (pattern subscription on the chat, the request id is the client's)
// ---------------------------------------------------------------------------------------------

interface Observed {
  id: string;
  event: StreamEvent;
  at: number;
}

class ChatWatch {
  readonly events: Observed[] = [];
  turnId: string | undefined;
  private readonly listeners = new Set<() => void>();

  push(channel: string, message: string) {
    this.turnId ??= /turn:\{(.*)\}:live$/.exec(channel)?.[1];
    for (const entry of decodeLiveMessages(message)) this.events.push({ ...entry, at: performance.now() });
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves with the first non-undefined value of `find` over the events so far (re-checked on every event). */
  until<T>(what: string, find: (events: Observed[]) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find(this.events);
        if (found === undefined) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far: ${this.events.map((observed) => describeEvent(observed.event)).join(' ')}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }
}

const watches = new Map<string, ChatWatch>();

function describeEvent(event: StreamEvent): string {
  const hop = 'hop' in event ? `${event.hop}` : '';
  const attempt = 'attempt' in event ? `.${event.attempt}` : '';
  return `${event.kind}${hop ? `@${hop}${attempt}` : ''}`;
}

const count = (events: Observed[], predicate: (event: StreamEvent) => boolean) => events.filter((observed) => predicate(observed.event)).length;
const first = (events: Observed[], predicate: (event: StreamEvent) => boolean) => events.find((observed) => predicate(observed.event));

// ---------------------------------------------------------------------------------------------
// Turns
// ---------------------------------------------------------------------------------------------

interface Turn {
  chatId: string;
  watch: ChatWatch;
  /** The live `ai` 7 client that sent the message and reads the stream through the kill. */
  client: Promise<AiClientResult>;
  turnId(): Promise<string>;
}

async function startTurn(text: string): Promise<Turn> {
  const chatId = `chaos-${randomUUID()}`;
  const watch = new ChatWatch();
  const pattern = `${configuration.redis.keyPrefix}turn:{${turnWorkflowId(conversationKey(workspaceId, chatId), '')}*}:live`;
  watches.set(pattern, watch);
  await watcher.psubscribe(pattern);
  const client = runAiClient({ apiUrl: api.url, apiKey, chatId, headers: { 'x-ai-sdk-version': '7' }, steps: [{ action: 'send', text }] });
  client.catch(() => undefined);
  return {
    chatId,
    watch,
    client,
    turnId: () => watch.until('the first event of the turn', () => watch.turnId, 30_000),
  };
}

async function stopWatching(turn: Turn) {
  const pattern = `${configuration.redis.keyPrefix}turn:{${turnWorkflowId(conversationKey(workspaceId, turn.chatId), '')}*}:live`;
  watches.delete(pattern);
  await watcher.punsubscribe(pattern);
}

// ---------------------------------------------------------------------------------------------
// Killing the worker that runs the turn
// ---------------------------------------------------------------------------------------------

/** PENDING_ACTIVITY_STATE_STARTED: a worker has the activity. */
const ACTIVITY_STARTED = 2;

interface StartedActivity {
  activityId: string;
  type: string;
  identity: string;
  attempt: number;
}

async function startedActivities(turnId: string): Promise<StartedActivity[]> {
  const description = await temporal.workflow.getHandle(turnId).describe();
  return (description.raw.pendingActivities ?? [])
    .filter((activity) => Number(activity.state) === ACTIVITY_STARTED && activity.lastWorkerIdentity)
    .map((activity) => ({
      activityId: activity.activityId ?? '',
      type: activity.activityType?.name ?? '?',
      identity: activity.lastWorkerIdentity ?? '',
      attempt: activity.attempt ?? 0,
    }));
}

async function lastWorkflowTaskWorker(turnId: string): Promise<string | undefined> {
  const history = await temporal.workflow.getHandle(turnId).fetchHistory();
  for (const event of [...(history.events ?? [])].reverse()) {
    const identity = event.workflowTaskCompletedEventAttributes?.identity ?? event.workflowTaskStartedEventAttributes?.identity;
    if (identity) return identity;
  }
  return undefined;
}

const TIMEOUT_TYPES: Record<number, string> = { 1: 'start-to-close', 2: 'schedule-to-start', 3: 'schedule-to-close', 4: 'heartbeat' };
const PENDING_STATES: Record<number, string> = { 1: 'scheduled', 2: 'started', 3: 'cancel requested', 4: 'paused', 5: 'pause requested' };

/** The timeouts Temporal recorded for the turn: retried activity attempts and timed-out workflow tasks. */
async function timeoutsOf(turnId: string): Promise<string[]> {
  const handle = temporal.workflow.getHandle(turnId);
  const events = (await handle.fetchHistory()).events ?? [];
  const byId = new Map(events.map((event) => [String(event.eventId), event]));
  const activityName = (scheduledEventId: unknown) => byId.get(String(scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
  const found: string[] = [];
  for (const event of events) {
    const started = event.activityTaskStartedEventAttributes;
    const timeoutType = started?.lastFailure?.timeoutFailureInfo?.timeoutType;
    if (started && (started.attempt ?? 1) > 1) {
      found.push(`${activityName(started.scheduledEventId)} retried as attempt ${started.attempt} after ${timeoutType ? `a ${TIMEOUT_TYPES[Number(timeoutType)]} timeout` : started.lastFailure?.message ?? 'a failure'}`);
    }
    const timedOut = event.activityTaskTimedOutEventAttributes;
    if (timedOut) found.push(`${activityName(timedOut.scheduledEventId)} timed out (${TIMEOUT_TYPES[Number(timedOut.failure?.timeoutFailureInfo?.timeoutType)] ?? '?'})`);
    const workflowTask = event.workflowTaskTimedOutEventAttributes;
    if (workflowTask) found.push(`workflow task timed out (${TIMEOUT_TYPES[Number(workflowTask.timeoutType)] ?? '?'})`);
  }
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') {
    const seconds = (duration: { seconds?: unknown } | null | undefined) => (Number(duration?.seconds ?? 0) > 0 ? `${Number(duration!.seconds)} s` : 'none');
    for (const activity of description.raw.pendingActivities ?? []) {
      const failure = activity.lastFailure?.timeoutFailureInfo?.timeoutType;
      const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityId === activity.activityId)?.activityTaskScheduledEventAttributes;
      found.push(
        `pending ${activity.activityType?.name ?? '?'} attempt ${activity.attempt} (${PENDING_STATES[Number(activity.state)] ?? activity.state}` +
          `${activity.lastWorkerIdentity ? ` by ${activity.lastWorkerIdentity}` : ''}${failure ? `, last attempt: ${TIMEOUT_TYPES[Number(failure)]} timeout` : ''}` +
          `; start-to-close ${seconds(scheduled?.startToCloseTimeout)}, heartbeat timeout ${seconds(scheduled?.heartbeatTimeout)})`,
      );
    }
  }
  return found;
}

interface Kill {
  pid: number;
  /** What the killed worker was doing: an activity type, `workflow-cache`, or `bystander`. */
  landed: string;
  activity?: StartedActivity;
  at: number;
}

/**
 * Kills -9 the worker that runs the turn's started activity (or holds the turn's workflow, or a
 * seeded-random one), starts its replacement and returns when the kill happened.
 */
async function killWorkerOf(turnId: string, random: () => number, only?: (activity: StartedActivity) => boolean): Promise<Kill> {
  const activities = (await startedActivities(turnId)).filter((activity) => !only || only(activity));
  let activity = activities.find((candidate) => live.some((worker) => worker.identity === candidate.identity));
  let target = activity ? live.find((worker) => worker.identity === activity!.identity) : undefined;
  let landed = activity?.type ?? '';
  if (!target) {
    activity = undefined;
    const holder = await lastWorkflowTaskWorker(turnId);
    target = live.find((worker) => worker.identity === holder);
    landed = 'workflow-cache';
  }
  if (!target) {
    target = live[Math.floor(random() * live.length)]!;
    landed = 'bystander';
  }
  target.kill('SIGKILL');
  const at = performance.now();
  live.splice(live.indexOf(target), 1);
  void spawnWorker().catch(() => undefined);
  return { pid: target.pid, landed, ...(activity ? { activity } : {}), at };
}

// ---------------------------------------------------------------------------------------------
// Postgres locks that hold a turn at a precise point
// ---------------------------------------------------------------------------------------------

interface HeldLock {
  client: PoolClient;
  pid: number;
  /** Waits until a backend is blocked by this lock running a statement that starts with `statement`. */
  blocking(statement: string, timeoutMs?: number): Promise<void>;
  release(): Promise<void>;
}

async function holdLock(take: (client: PoolClient) => Promise<unknown>): Promise<HeldLock> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await take(client);
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  let released = false;
  return {
    client,
    pid,
    async blocking(statement, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const blocked = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND left(ltrim(query), length($2)) = $2`,
          [pid, statement],
        );
        if ((blocked.rowCount ?? 0) > 0) return;
        if (performance.now() > deadline) throw new Error(`no backend blocked on "${statement}" by the test's lock within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async release() {
      if (released) return;
      released = true;
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Checks after a kill
// ---------------------------------------------------------------------------------------------

interface Measurement {
  label: string;
  landed: string;
  killToRestartMs?: number;
  killToRetriedDeltaMs?: number;
  killToCompletedMs: number;
}

const measurements: Measurement[] = [];

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A message part as stored and as the `ai` client holds it. */
type Part = { type: string; [key: string]: unknown };

/** A message as a comparable sequence: steps, text, and tool calls with their state (data parts left out). */
function shape(parts: readonly Part[]): string[] {
  return parts.flatMap((part) => {
    if (part.type === 'step-start') return ['step'];
    if (part.type === 'text') return [`text:${String(part.text)}`];
    if (part.type.startsWith('tool-')) return [`${part.type}:${String(part.toolCallId)}:${String(part.state)}`];
    return [];
  });
}

/** The stored answer's steps (one per hop): the text and the tool calls of each. */
function storedSteps(parts: readonly Part[]): Array<{ text: string; toolCallIds: string[] }> {
  const steps: Array<{ text: string; toolCallIds: string[] }> = [];
  for (const part of parts) {
    if (part.type === 'step-start') steps.push({ text: '', toolCallIds: [] });
    else if (part.type === 'text') steps.at(-1)!.text += String(part.text);
    else if (part.type.startsWith('tool-')) steps.at(-1)!.toolCallIds.push(String(part.toolCallId));
  }
  return steps;
}

async function readLog(turnId: string): Promise<Observed[]> {
  const entries = await redis.xrange(turnStreamKeys(configuration.redis.keyPrefix, turnId).log, '-', '+');
  return entries.map(([id, fields]) => ({ id, event: JSON.parse(fields[1]!) as StreamEvent, at: 0 }));
}

const hasAttempt = (event: StreamEvent): event is Extract<StreamEvent, { attempt: number; hop: number }> => 'attempt' in event && 'hop' in event;

/** The replay log: increasing ids; per hop, the final attempt's deltas are contiguous, complete, and equal the stored step. */
function expectLogWithoutGaps(log: Observed[], steps: Array<{ text: string; toolCallIds: string[] }>) {
  for (let index = 1; index < log.length; index++) expect(compareEntryIds(log[index - 1]!.id, log[index]!.id)).toBe(-1);
  const ended = new Set(log.flatMap(({ event }) => (event.kind === 'hop-end' ? [event.hop] : [])));
  expect([...ended].sort((left, right) => left - right)).toEqual(steps.map((_step, hop) => hop));
  for (const [hop, step] of steps.entries()) {
    const starts = log.flatMap(({ event }, index) => ((event.kind === 'hop-start' || event.kind === 'hop-restart') && event.hop === hop ? [{ index, attempt: event.attempt }] : []));
    expect(starts.length).toBeGreaterThan(0);
    for (let index = 1; index < starts.length; index++) expect(starts[index]!.attempt).toBeGreaterThan(starts[index - 1]!.attempt);
    const final = starts.at(-1)!;
    const end = log.findIndex(({ event }, index) => index > final.index && event.kind === 'hop-end' && event.hop === hop && event.attempt === final.attempt);
    expect(end).toBeGreaterThan(final.index);
    // Between the final attempt's start and its end, nothing of another attempt of this hop.
    const between = log.slice(final.index + 1, end).filter(({ event }) => hasAttempt(event) && event.hop === hop);
    expect(between.filter(({ event }) => hasAttempt(event) && event.attempt !== final.attempt).map(({ event }) => describeEvent(event))).toEqual([]);
    const finalText = between.flatMap(({ event }) => (event.kind === 'text-delta' ? [event.delta] : [])).join('');
    expect(finalText).toBe(step.text);
    // No delta of the final attempt outside its bracket.
    const outside = log.filter(({ event }, index) => (index < final.index || index > end) && event.kind === 'text-delta' && event.hop === hop && event.attempt === final.attempt);
    expect(outside).toHaveLength(0);
    // A failed attempt streamed a prefix of the same scripted answer, without holes.
    for (const earlier of starts.slice(0, -1)) {
      const text = log.flatMap(({ event }) => (event.kind === 'text-delta' && event.hop === hop && event.attempt === earlier.attempt ? [event.delta] : [])).join('');
      expect(step.text.startsWith(text)).toBe(true);
    }
    for (const toolCallId of step.toolCallIds) {
      expect(log.some(({ event }) => event.kind === 'tool-output-available' && event.toolCallId === toolCallId)).toBe(true);
    }
  }
  const finish = log.findIndex(({ event }) => event.kind === 'turn-finish');
  expect(finish).toBeGreaterThan(-1);
  expect(log.slice(finish + 1).filter(({ event }) => event.kind !== 'turn-finish')).toEqual([]);
}

interface TurnExpectation {
  /** The final answer text, when it is known up front. */
  text?: string | RegExp;
  /** Tool calls (by id) whose output the client had seen before the kill: each ran exactly once. */
  completedBeforeKill: string[];
}

/** Every check of a killed turn; returns the time from the kill to the completed workflow. */
async function expectTurnSurvived(turn: Turn, kill: Kill, expectation: TurnExpectation): Promise<number> {
  try {
    return await checkTurn(turn, kill, expectation);
  } finally {
    await stopWatching(turn);
  }
}

async function checkTurn(turn: Turn, kill: Kill, expectation: TurnExpectation): Promise<number> {
  const turnId = await turn.turnId();
  const remaining = Math.max(1000, RECOVERY_BUDGET_MS - (performance.now() - kill.at));
  let result: ChatTurnResult;
  const abort = new AbortController();
  try {
    const completion = temporal.withAbortSignal(abort.signal, () => temporal.workflow.getHandle(turnId).result() as Promise<ChatTurnResult>);
    result = await withTimeout(completion, remaining, `turn ${turnId} to complete`);
  } catch (error) {
    abort.abort();
    const timeouts = await timeoutsOf(turnId).catch((reason: unknown) => [`(history unavailable: ${String(reason)})`]);
    throw new Error(
      `turn ${turnId} did not complete within ${RECOVERY_BUDGET_MS} ms of the kill of a worker running ${kill.landed} (${error instanceof Error ? error.message : String(error)}).\n` +
        `Temporal so far: ${timeouts.join('; ') || 'no timeouts recorded'}`,
    );
  }
  const completedAt = performance.now();
  expect(result.finishReason).toBe('stop');

  const stored = await pool.query("SELECT content, extra FROM chat_events WHERE conversation_id = $1 AND type = 'message' AND role = 'assistant'", [conversationKey(workspaceId, turn.chatId)]);
  expect(stored.rows).toHaveLength(1);
  const parts = stored.rows[0].content.parts as Part[];
  const storedText = messageText(parts);
  expect(stored.rows[0].extra.finishReason).toBe('stop');
  expect(result.text).toBe(storedText);
  if (typeof expectation.text === 'string') expect(storedText).toBe(expectation.text);
  else if (expectation.text) expect(storedText).toMatch(expectation.text);

  // What the ai 7 client shows: live through the kill, and resumed from the log after the turn.
  const liveClient = await withTimeout(turn.client, 30_000, 'the live ai client to finish');
  expect(liveClient.error).toBeNull();
  expect(shape(liveClient.messages.at(-1)!.parts)).toEqual(shape(parts));
  const resumed = await runAiClient({ apiUrl: api.url, apiKey, chatId: turn.chatId, headers: { 'x-ai-sdk-version': '7' }, steps: [{ action: 'resume' }] });
  expect(resumed.error).toBeNull();
  expect(resumed.messages.at(-1)?.role).toBe('assistant');
  expect(shape(resumed.messages.at(-1)!.parts)).toEqual(shape(parts));

  const steps = storedSteps(parts);
  expectLogWithoutGaps(await readLog(turnId), steps);

  // Tools: exactly one side effect per idempotency key, and exactly the calls of the answer.
  const keys = steps.flatMap((step, hop) => step.toolCallIds.map((toolCallId) => `${turnId}:${hop}:${toolCallId}`)).sort();
  const effects = await pool.query('SELECT idempotency_key, count(*)::int AS n FROM tool_side_effects WHERE starts_with(idempotency_key, $1) GROUP BY 1', [`${turnId}:`]);
  const effectCounts = Object.fromEntries(effects.rows.map((row) => [row.idempotency_key as string, row.n as number]));
  expect(effectCounts).toEqual(Object.fromEntries(keys.map((key) => [key, 1])));
  const executions = await pool.query('SELECT idempotency_key FROM tool_executions WHERE turn_id = $1 ORDER BY 1', [turnId]);
  expect(executions.rows.map((row) => row.idempotency_key)).toEqual(keys);
  for (const toolCallId of expectation.completedBeforeKill) {
    expect(keys.filter((key) => key.endsWith(`:${toolCallId}`)).map((key) => effectCounts[key])).toEqual([1]);
  }
  return completedAt - kill.at;
}

async function record(label: string, turn: Turn, kill: Kill, killToCompletedMs: number, killedHop?: number) {
  const timeouts = await timeoutsOf(await turn.turnId());
  const after = turn.watch.events.filter((observed) => observed.at >= kill.at);
  const restart = first(after, (event) => event.kind === 'hop-restart');
  const killedAttempt = killedHop === undefined ? undefined : Math.max(0, ...turn.watch.events.filter((observed) => observed.at < kill.at && hasAttempt(observed.event) && observed.event.hop === killedHop).map((observed) => (observed.event as { attempt: number }).attempt));
  const retriedDelta =
    killedHop === undefined
      ? undefined
      : first(after, (event) => (event.kind === 'text-delta' || event.kind === 'tool-input-delta') && event.hop === killedHop && event.attempt > (killedAttempt ?? 0));
  const measurement: Measurement = {
    label,
    landed: kill.landed,
    ...(restart ? { killToRestartMs: restart.at - kill.at } : {}),
    ...(retriedDelta ? { killToRetriedDeltaMs: retriedDelta.at - kill.at } : {}),
    killToCompletedMs,
  };
  measurements.push(measurement);
  const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`);
  console.log(
    `chaos seed=${SEED} ${label}: killed pid ${kill.pid} (${kill.landed}${kill.activity ? ` attempt ${kill.activity.attempt}` : ''}); ` +
      `kill→hop-restart ${ms(measurement.killToRestartMs)}, kill→first retried delta ${ms(measurement.killToRetriedDeltaMs)}, kill→turn completed ${ms(killToCompletedMs)}; ` +
      `Temporal: ${timeouts.join('; ') || 'no timeouts'}`,
  );
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

function printFigures() {
  const retried = measurements.filter((measurement) => measurement.label.includes('mid-stream') && measurement.killToRetriedDeltaMs !== undefined).map((measurement) => measurement.killToRetriedDeltaMs!);
  const completed = measurements.map((measurement) => measurement.killToCompletedMs);
  if (measurements.length === 0) return;
  console.log(
    `chaos seed=${SEED}: ${measurements.length} kills; mid-stream kill→first retried delta n=${retried.length} ` +
      (retried.length ? `p50 ${Math.round(percentile(retried, 0.5))} ms p95 ${Math.round(percentile(retried, 0.95))} ms` : '') +
      `; kill→turn completed p50 ${Math.round(percentile(completed, 0.5))} ms p95 ${Math.round(percentile(completed, 0.95))} ms max ${Math.round(Math.max(...completed))} ms`,
  );
}

// ---------------------------------------------------------------------------------------------
// Prompts
// ---------------------------------------------------------------------------------------------

const tag = () => randomUUID().slice(0, 8);
const longPrompt = (tps = 30) => `Tell me something long ${tag()} [[tps=${tps}]]`;
const toolPrompt = (hops: number, tps = 30) => `use test_record_side_effect for ${tag()} [[hops=${hops} tps=${tps}]]`;
const TOOL_ANSWER = /^Tool results: /;

const outputsSeen = (events: Observed[]) => events.flatMap(({ event }) => (event.kind === 'tool-output-available' ? [event.toolCallId] : []));

// ---------------------------------------------------------------------------------------------
// Chosen kill points
// ---------------------------------------------------------------------------------------------

describe(`kill -9 at chosen points (seed ${SEED})`, () => {
  const random = mulberry32(SEED ^ 0x5eed);

  beforeEach(async () => {
    await ensureTwoWorkers();
  }, 120_000);

  it('mid-stream: the retried hop replaces the cut one and the answer is whole', async () => {
    const turn = await startTurn(longPrompt());
    const kill = await withSeed('mid-stream', async () => {
      await turn.watch.until('5 text deltas of hop 0', (events) => (count(events, (event) => event.kind === 'text-delta' && event.hop === 0) >= 5 ? true : undefined));
      return killWorkerOf(await turn.turnId(), random);
    });
    const elapsed = await withSeed('mid-stream', () => expectTurnSurvived(turn, kill, { text: longAnswer, completedBeforeKill: [] }), workerOutputs);
    await record('chosen mid-stream', turn, kill, elapsed, 0);
    expect(kill.landed).toBe('streamCompletion');
  }, 120_000);

  it('between hops: a tool call that had completed is not executed again', async () => {
    const turn = await startTurn(toolPrompt(3));
    let completed: string[] = [];
    const kill = await withSeed('between hops', async () => {
      await turn.watch.until('hop 1 to stream', (events) => (first(events, (event) => event.kind === 'tool-input-delta' && event.hop === 1) ? true : undefined));
      completed = outputsSeen(turn.watch.events);
      return killWorkerOf(await turn.turnId(), random);
    });
    expect(completed).toHaveLength(1);
    const elapsed = await withSeed('between hops', () => expectTurnSurvived(turn, kill, { text: TOOL_ANSWER, completedBeforeKill: completed }), workerOutputs);
    await record('chosen between hops (mid-stream of hop 1)', turn, kill, elapsed, 1);
    // The replayed workflow took hop 0's tool result from history: one executeTool per call, ever.
    const history = await temporal.workflow.getHandle(await turn.turnId()).fetchHistory();
    const scheduled = (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool');
    expect(scheduled).toHaveLength(3);
  }, 120_000);

  it('during a tool activity: the interrupted tool runs again under the same idempotency key, once', async () => {
    const turn = await startTurn(toolPrompt(2));
    let lock: HeldLock | undefined;
    let toolCallId = '';
    try {
      const kill = await withSeed('during a tool activity', async () => {
        await turn.watch.until('hop 1 to start', (events) => (first(events, (event) => event.kind === 'hop-start' && event.hop === 1) ? true : undefined));
        // Writers of tool_side_effects wait behind this lock: hop 1's tool blocks inside its insert.
        lock = await holdLock((client) => client.query('LOCK TABLE tool_side_effects IN SHARE MODE'));
        toolCallId = await turn.watch.until('hop 1 tool input', (events) => events.flatMap(({ event }) => (event.kind === 'tool-input-available' && event.hop === 1 ? [event.toolCallId] : []))[0]);
        await lock.blocking('INSERT INTO tool_side_effects');
        const turnId = await turn.turnId();
        for (let waited = 0; !(await startedActivities(turnId)).some((activity) => activity.type === 'executeTool'); waited += 20) {
          if (waited > 10_000) throw new Error('executeTool never showed as started');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const killed = await killWorkerOf(turnId, random, (activity) => activity.type === 'executeTool');
        await lock.release();
        return killed;
      });
      expect(kill.landed).toBe('executeTool');
      const completed = outputsSeen(turn.watch.events.filter((observed) => observed.at < kill.at));
      const elapsed = await withSeed(
        'during a tool activity',
        () => expectTurnSurvived(turn, kill, { text: TOOL_ANSWER, completedBeforeKill: completed }),
        workerOutputs,
      );
      await record('chosen during a tool activity', turn, kill, elapsed);
      // The same scheduled activity (same input, same key) ran again as attempt 2 and recorded one effect.
      const turnId = await turn.turnId();
      const history = await temporal.workflow.getHandle(turnId).fetchHistory();
      const scheduled = (history.events ?? []).find((event) => event.activityTaskScheduledEventAttributes?.activityId === kill.activity!.activityId);
      const started = (history.events ?? []).find((event) => event.activityTaskStartedEventAttributes && String(event.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled?.eventId));
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
      const key = `${turnId}:1:${toolCallId}`;
      expect((await pool.query('SELECT count(*)::int AS n FROM tool_side_effects WHERE idempotency_key = $1', [key])).rows[0].n).toBe(1);
    } finally {
      await lock?.release();
    }
  }, 300_000);

  it('after the last hop-end, before the LLM activity reported: the client shows no ghost step', async () => {
    const turn = await startTurn(`Echo this back ${tag()} [[tps=30]]`);
    let lock: HeldLock | undefined;
    try {
      const kill = await withSeed('after the last hop-end', async () => {
        const turnId = await turn.turnId();
        // The first attempt's usage row is taken (uncommitted) by the test: the hop records its usage
        // right after hop-end, and waits on it.
        lock = await holdLock((client) =>
          client.query(
            `INSERT INTO llm_usage (turn_id, hop, attempt, conversation_id, workspace_id, model, latency_ms) VALUES ($1, 0, 1, $2, $3, 'lock', 0)`,
            [turnId, conversationKey(workspaceId, turn.chatId), workspaceId],
          ),
        );
        await turn.watch.until('hop-end of hop 0', (events) => (first(events, (event) => event.kind === 'hop-end' && event.hop === 0) ? true : undefined));
        await lock.blocking('INSERT INTO llm_usage');
        const killed = await killWorkerOf(turnId, random, (activity) => activity.type === 'streamCompletion');
        await lock.release();
        return killed;
      });
      expect(kill.landed).toBe('streamCompletion');
      const elapsed = await withSeed('after the last hop-end', () => expectTurnSurvived(turn, kill, { text: /^You said: Echo this back/, completedBeforeKill: [] }), workerOutputs);
      await record('chosen after the last hop-end', turn, kill, elapsed);
    } finally {
      await lock?.release();
    }
  }, 120_000);

  it('during finalisation: the answer is persisted once and the turn completes', async () => {
    const turn = await startTurn(`Echo this back too ${tag()} [[tps=30]]`);
    let lock: HeldLock | undefined;
    try {
      const kill = await withSeed('during finalisation', async () => {
        const turnId = await turn.turnId();
        // finalizeTurn appends the answer under the conversation row lock: the test holds that row.
        // It runs as a local activity inside the workflow task, so the worker to kill is the one
        // holding that task (Temporal lists no pending activity for it).
        lock = await holdLock((client) => client.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [conversationKey(workspaceId, turn.chatId)]));
        // The append's one statement (ChatRepository.appendEvent) waits on that row lock.
        await lock.blocking('WITH conversation AS (');
        const killed = await killWorkerOf(turnId, random, () => false);
        await lock.release();
        return killed;
      });
      expect(kill.landed).toBe('workflow-cache');
      const elapsed = await withSeed(
        'during finalisation',
        () => expectTurnSurvived(turn, kill, { text: /^You said: Echo this back too/, completedBeforeKill: [] }),
        workerOutputs,
      );
      await record('chosen during finalisation', turn, kill, elapsed);
    } finally {
      await lock?.release();
    }
  }, 200_000);
});

// ---------------------------------------------------------------------------------------------
// 20 kills at random points
// ---------------------------------------------------------------------------------------------

type KillPlan =
  | { scenario: 'long answer'; point: 'mid-stream'; afterDeltas: number }
  | { scenario: 'long answer'; point: 'last hop-end' }
  | { scenario: 'tool turn'; hops: number; point: 'mid-stream'; hop: number; afterDeltas: number }
  | { scenario: 'tool turn'; hops: number; point: 'tool-input-available' | 'tool-output-available'; hop: number }
  | { scenario: 'tool turn'; hops: number; point: 'last hop-end' };

function planKill(random: () => number): KillPlan {
  const roll = random();
  if (roll < 0.3) return { scenario: 'long answer', point: 'mid-stream', afterDeltas: integerBetween(random, 5, 45) };
  if (roll < 0.38) return { scenario: 'long answer', point: 'last hop-end' };
  const hops = integerBetween(random, 2, 3);
  if (roll < 0.55) {
    const hop = integerBetween(random, 0, hops);
    return { scenario: 'tool turn', hops, point: 'mid-stream', hop, afterDeltas: integerBetween(random, 1, 3) };
  }
  if (roll < 0.72) return { scenario: 'tool turn', hops, point: 'tool-input-available', hop: integerBetween(random, 0, hops - 1) };
  if (roll < 0.88) return { scenario: 'tool turn', hops, point: 'tool-output-available', hop: integerBetween(random, 0, hops - 1) };
  return { scenario: 'tool turn', hops, point: 'last hop-end' };
}

function describePlan(plan: KillPlan): string {
  const parts: string[] = [plan.scenario];
  if ('hops' in plan) parts.push(`hops=${plan.hops}`);
  parts.push(plan.point);
  if ('hop' in plan) parts.push(`hop ${plan.hop}`);
  if ('afterDeltas' in plan) parts.push(`after ${plan.afterDeltas} deltas`);
  return parts.join(' ');
}

/** The moment of the plan, read from the live events. */
function killPointReached(plan: KillPlan, events: Observed[]): boolean {
  switch (plan.point) {
    case 'mid-stream':
      if (plan.scenario === 'long answer') return count(events, (event) => event.kind === 'text-delta' && event.hop === 0) >= plan.afterDeltas;
      return count(events, (event) => (event.kind === 'text-delta' || event.kind === 'tool-input-delta') && event.hop === plan.hop) >= plan.afterDeltas;
    case 'tool-input-available':
      return first(events, (event) => event.kind === 'tool-input-available' && event.hop === plan.hop) !== undefined;
    case 'tool-output-available':
      return first(events, (event) => event.kind === 'tool-output-available' && event.hop === plan.hop) !== undefined;
    case 'last hop-end': {
      const lastHop = plan.scenario === 'long answer' ? 0 : plan.hops;
      return first(events, (event) => event.kind === 'hop-end' && event.hop === lastHop) !== undefined;
    }
  }
}

describe(`${RANDOM_KILLS} kills at random points`, () => {
  it(`survives ${RANDOM_KILLS} kill -9 at points drawn from seed ${SEED} (replay with CHAOS_SEED=${SEED})`, async () => {
    const random = mulberry32(SEED);
    for (let index = 1; index <= RANDOM_KILLS; index++) {
      const plan = planKill(random);
      const label = `random kill ${index}/${RANDOM_KILLS}: ${describePlan(plan)}`;
      await withSeed(label, ensureTwoWorkers);
      const turn = await startTurn(plan.scenario === 'long answer' ? longPrompt() : toolPrompt(plan.hops));
      let completed: string[] = [];
      const kill = await withSeed(label, async () => {
        await turn.watch.until(describePlan(plan), (events) => (killPointReached(plan, events) ? true : undefined));
        completed = outputsSeen(turn.watch.events);
        return killWorkerOf(await turn.turnId(), random);
      });
      const elapsed = await withSeed(
        `${label} (killed pid ${kill.pid}, ${kill.landed})`,
        () => expectTurnSurvived(turn, kill, { text: plan.scenario === 'long answer' ? longAnswer : TOOL_ANSWER, completedBeforeKill: completed }),
        workerOutputs,
      );
      const killedHop = plan.point === 'mid-stream' ? (plan.scenario === 'long answer' ? 0 : plan.hop) : undefined;
      await record(label, turn, kill, elapsed, killedHop);
    }
  }, 900_000);
});
