/**
 * Recorded chat turns (test/replay/histories/<scenario>.json, made by scripts/record-histories.ts)
 * replay against the current workflow code: a change that would fail turns already running in
 * production fails here first. Histories recorded before the `turn-core-v2` patch
 * (test/replay/histories/v1/) replay too, through the frozen version the patch keeps, and so do those
 * recorded before `after-turn-v1` (test/replay/histories/turn-core-v2/: the title as a child
 * workflow, then memory extraction) and before `turn-start-v1` (test/replay/histories/after-turn-v1/:
 * four local activities in two rounds before the first hop), and those whose hops retried after one
 * interval whatever failed them (test/replay/histories/turn-start-v1/). The negative
 * tests prove the check has teeth and that the operator is told which history event the changed code
 * contradicts.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describeReplayOutcome, installReplayRuntime, replayHistory } from '../../src/replay/replay-runner';
import { readHistoryFile } from '../../src/replay/workflow-history';

const HISTORIES_DIRECTORY = path.join(__dirname, 'histories');

function historiesIn(directory: string, prefix = '') {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ workflowId: `${prefix}${path.basename(file, '.json')}`, history: readHistoryFile(path.join(directory, file)) }));
}

const recorded = historiesIn(HISTORIES_DIRECTORY);
const recordedBeforePatch = historiesIn(path.join(HISTORIES_DIRECTORY, 'v1'), 'v1/');
const recordedBeforeAfterTurn = historiesIn(path.join(HISTORIES_DIRECTORY, 'turn-core-v2'), 'turn-core-v2/');
const recordedBeforeTurnStart = historiesIn(path.join(HISTORIES_DIRECTORY, 'after-turn-v1'), 'after-turn-v1/');
const recordedBeforeRestartInterval = historiesIn(path.join(HISTORIES_DIRECTORY, 'turn-start-v1'), 'turn-start-v1/');

function currentWorkflowBundle(): { codePath: string } {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE is not set: run the tests through jest, whose global setup builds the bundle.');
  return { codePath };
}

function recordedHistory(scenario: string) {
  const found = recorded.find((entry) => entry.workflowId === scenario);
  if (!found) throw new Error(`test/replay/histories/${scenario}.json is missing: npx tsx scripts/record-histories.ts ${scenario}`);
  return found.history;
}

async function collect(results: AsyncIterable<ReplayResult>): Promise<ReplayResult[]> {
  const collected: ReplayResult[] = [];
  for await (const result of results) collected.push(result);
  return collected;
}

beforeAll(() => {
  installReplayRuntime();
});

describe('recorded histories', () => {
  it('cover the turn shapes the workflow has', () => {
    expect(recorded.map((entry) => entry.workflowId)).toEqual(
      expect.arrayContaining([
        'plain-answer',
        'three-hop-tools',
        'hop-limit',
        'retried-hop',
        'stopped-turn',
        'fallback-model',
        'regenerated-answer',
        'cached-duplicate',
        'approved-tool',
        'denied-tool',
        'approval-timeout',
        'steered-turn',
        'queued-turn',
      ]),
    );
  });

  it('all replay against the current workflow code', async () => {
    const results = await collect(Worker.runReplayHistories({ workflowBundle: currentWorkflowBundle(), replayName: 'recorded-histories' }, recorded));
    expect(results.map((result) => result.workflowId)).toEqual(recorded.map((entry) => entry.workflowId));
    const failures = results.flatMap((result) => (result.error ? [`${result.workflowId}: ${result.error.message}`] : []));
    expect(failures).toEqual([]);
  });

  it('recorded before the turn-core-v2 patch still replay, through the version the patch keeps', async () => {
    expect(recordedBeforePatch.map((entry) => entry.workflowId)).toEqual(
      expect.arrayContaining(['v1/plain-answer', 'v1/three-hop-tools', 'v1/hop-limit', 'v1/retried-hop', 'v1/stopped-turn', 'v1/cached-duplicate']),
    );
    const results = await collect(Worker.runReplayHistories({ workflowBundle: currentWorkflowBundle(), replayName: 'recorded-before-patch' }, recordedBeforePatch));
    const failures = results.flatMap((result) => (result.error ? [`${result.workflowId}: ${result.error.message}`] : []));
    expect(failures).toEqual([]);
  });

  it('recorded before the after-turn-v1 patch (the title as a child workflow) still replay', async () => {
    const plain = recordedBeforeAfterTurn.find((entry) => entry.workflowId === 'turn-core-v2/plain-answer');
    expect(plain?.history.events?.some((event) => event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'conversationTitle')).toBe(true);
    const results = await collect(Worker.runReplayHistories({ workflowBundle: currentWorkflowBundle(), replayName: 'recorded-before-after-turn' }, recordedBeforeAfterTurn));
    expect(results).toHaveLength(recordedBeforeAfterTurn.length);
    const failures = results.flatMap((result) => (result.error ? [`${result.workflowId}: ${result.error.message}`] : []));
    expect(failures).toEqual([]);
  });

  it('recorded before the turn-start-v1 patch (four local steps before the first hop) still replay', async () => {
    const localStepsBeforeFirstHop = (history: (typeof recorded)[number]['history']) => {
      const events = history.events ?? [];
      const firstHop = events.findIndex((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamCompletion');
      return events.slice(0, firstHop).filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
    };
    const plain = recordedBeforeTurnStart.find((entry) => entry.workflowId === 'after-turn-v1/plain-answer');
    expect(localStepsBeforeFirstHop(plain!.history)).toBe(4);
    expect(localStepsBeforeFirstHop(recordedHistory('plain-answer'))).toBe(1);
    const results = await collect(Worker.runReplayHistories({ workflowBundle: currentWorkflowBundle(), replayName: 'recorded-before-turn-start' }, recordedBeforeTurnStart));
    expect(results).toHaveLength(recordedBeforeTurnStart.length);
    const failures = results.flatMap((result) => (result.error ? [`${result.workflowId}: ${result.error.message}`] : []));
    expect(failures).toEqual([]);
  });

  it("recorded before hops restarted sooner than the agent's backoff still replay (one retry interval for any failure)", async () => {
    const firstHopRetry = (history: (typeof recorded)[number]['history']) =>
      history.events?.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamCompletion')?.activityTaskScheduledEventAttributes?.retryPolicy?.initialInterval;
    const before = recordedBeforeRestartInterval.find((entry) => entry.workflowId === 'turn-start-v1/retried-hop');
    expect(firstHopRetry(before!.history)).not.toEqual(firstHopRetry(recordedHistory('retried-hop')));
    const results = await collect(Worker.runReplayHistories({ workflowBundle: currentWorkflowBundle(), replayName: 'recorded-before-restart-interval' }, recordedBeforeRestartInterval));
    expect(results).toHaveLength(recordedBeforeRestartInterval.length);
    const failures = results.flatMap((result) => (result.error ? [`${result.workflowId}: ${result.error.message}`] : []));
    expect(failures).toEqual([]);
  });
});

describe('a changed workflow', () => {
  let changedBundle: WorkflowBundle;

  beforeAll(async () => {
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (message: string) => console.error(message) };
    changedBundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'changed-chat-turn.ts'), logger: quiet });
  });

  it('fails replay of a tool turn with a DeterminismViolationError', async () => {
    const [result] = await collect(
      Worker.runReplayHistories({ workflowBundle: changedBundle, replayName: 'changed-workflow' }, [{ workflowId: 'three-hop-tools', history: recordedHistory('three-hop-tools') }]),
    );
    expect(result?.error).toBeInstanceOf(DeterminismViolationError);
    expect(result?.error?.message).toContain("scheduled event 'executeTool'");
  });

  it('is reported at the history event it contradicts', async () => {
    const history = recordedHistory('three-hop-tools');
    const firstTool = history.events!.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool')!;
    const outcome = await replayHistory({ workflowBundle: changedBundle, replayName: 'changed-workflow-located' }, history, 'three-hop-tools');
    if (outcome.ok) throw new Error('the changed workflow replayed the history');
    expect(outcome.divergence?.event.eventId?.toString()).toBe(firstTool.eventId?.toString());
    expect(describeReplayOutcome(outcome)).toContain(`Diverged at history event #${firstTool.eventId} ActivityTaskScheduled (executeTool)`);
  });
});
