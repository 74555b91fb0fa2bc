/**
 * Replays a workflow history against workflow code and, when the code no longer fits, finds the
 * history event where it diverged.
 *
 * Core reports nondeterminism as text that names the activity types but not the event id
 * ("Activity type of scheduled event 'recordToolResults' does not match activity type of activity
 * command 'streamCompletion'"). The diverging workflow task is found by replaying prefixes of the
 * history that end at a `WorkflowTaskStarted` (the last task of a prefix is new work, so only the
 * commands of the tasks before it are checked) and bisecting on the first prefix that fails. A
 * failure only shows up once all of its task's commands are in the prefix, so failing is monotonic.
 */
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describeEvent, type History, type HistoryEvent } from './workflow-history';

export interface Divergence {
  /** The `WorkflowTaskCompleted` event of the task whose commands no longer match. */
  workflowTaskCompleted: HistoryEvent;
  /** The history event the new code contradicts (the task's first command event when unclear). */
  event: HistoryEvent;
}

export type ReplayOutcome = { ok: true } | { ok: false; error: Error; divergence?: Divergence };

/**
 * Installs the Temporal runtime for replaying, SDK and core logging at ERROR only: the outcome is
 * the report, and core would otherwise print each failed workflow task as a WARN. Does nothing when
 * this process already installed a runtime.
 */
export function installReplayRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // A runtime is installed already (tests): its settings stand.
  }
}

async function replays(options: ReplayWorkerOptions, history: History, workflowId: string): Promise<Error | undefined> {
  try {
    await Worker.runReplayHistory(options, history, workflowId);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The events the commands of the workflow task completed at `completed` produced. */
function commandEventsOf(completed: HistoryEvent, events: HistoryEvent[]): HistoryEvent[] {
  const id = Number(completed.eventId);
  return events.filter((event) =>
    Object.entries(event).some(
      ([key, attributes]) => key.endsWith('EventAttributes') && attributes != null && Number((attributes as { workflowTaskCompletedEventId?: unknown }).workflowTaskCompletedEventId) === id,
    ),
  );
}

/** Within the diverging task's command events, the one the error message points at. */
function pointedEvent(commands: HistoryEvent[], message: string): HistoryEvent | undefined {
  const scheduled = /scheduled event '([^']+)'/.exec(message)?.[1];
  if (scheduled) {
    const match = commands.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === scheduled);
    if (match) return match;
  }
  for (const id of message.matchAll(/\bid: (\d+)/g)) {
    const match = commands.find((event) => Number(event.eventId) === Number(id[1]));
    if (match) return match;
  }
  return commands[0];
}

async function locateDivergence(options: ReplayWorkerOptions, history: History, workflowId: string, error: Error): Promise<Divergence | undefined> {
  const events = history.events ?? [];
  const cuts = events.flatMap((event, index) => (event.workflowTaskStartedEventAttributes ? [index + 1] : [])).concat(events.length);
  // Bisect for the shortest failing prefix; the full history (the last cut) is known to fail.
  let low = 0;
  let high = cuts.length - 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await replays(options, { events: events.slice(0, cuts[middle]) }, workflowId)) high = middle;
    else low = middle + 1;
  }
  const failing = events.slice(0, cuts[high]);
  // The prefix ends with a task that is new work; the completed task before it diverged.
  let completedIndex = -1;
  failing.forEach((event, index) => {
    if (event.workflowTaskCompletedEventAttributes) completedIndex = index;
  });
  const completed = failing[completedIndex];
  if (!completed) return undefined;
  const commands = commandEventsOf(completed, failing.slice(completedIndex + 1));
  return { workflowTaskCompleted: completed, event: pointedEvent(commands, error.message) ?? completed };
}

/**
 * Replays `history` with the workflow code of `options`; pass a prebuilt `workflowBundle`, since
 * locating a nondeterminism failure replays again once per bisect step. `workflowId` is only a
 * label: histories do not carry it, and chatTurn does not read it.
 */
export async function replayHistory(options: ReplayWorkerOptions, history: History, workflowId: string): Promise<ReplayOutcome> {
  const error = await replays(options, history, workflowId);
  if (!error) return { ok: true };
  // Other replay errors (a payload that does not decode, a workflow task that throws) have no divergence point.
  const divergence = error instanceof DeterminismViolationError ? await locateDivergence(options, history, workflowId, error) : undefined;
  return { ok: false, error, ...(divergence ? { divergence } : {}) };
}

/** A failed replay for a terminal: where it diverged, then the SDK's error. */
export function describeReplayOutcome(outcome: Extract<ReplayOutcome, { ok: false }>): string {
  const lines: string[] = [];
  if (outcome.divergence) {
    const { event, workflowTaskCompleted } = outcome.divergence;
    lines.push(`Diverged at history event ${describeEvent(event)}, a command of the workflow task completed at #${Number(workflowTaskCompleted.eventId)}`);
  }
  lines.push(`${outcome.error.name}: ${outcome.error.message}`);
  return lines.join('\n');
}
