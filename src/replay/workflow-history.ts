/**
 * Workflow histories as files: fetched from Temporal, saved and loaded in the JSON format of
 * `temporal workflow show --output json` (the format of the SDK's `historyToJSON`), and their events
 * named for operators (`#41 ActivityTaskScheduled (recordToolResults)`).
 *
 * Used by `npm run replay`, `npm run history:export`, the history recorder and the replay tests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';

// The SDK's JSON helpers need one protobufjs 8 shared by @temporalio/common and @temporalio/proto:
// package.json depends on protobufjs 8.8.1 directly so that npm hoists (deduplicates) it.

export type { History };
export type HistoryEvent = NonNullable<History['events']>[number];

/** The history of one workflow execution (the latest run when `runId` is omitted). */
export async function fetchWorkflowHistory(client: Client, workflowId: string, runId?: string): Promise<History> {
  return client.workflow.getHandle(workflowId, runId).fetchHistory();
}

/** The history as `temporal workflow show --output json` prints it. */
export function historyAsJson(history: History): string {
  return `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`;
}

export function writeHistoryFile(file: string, history: History): void {
  writeFileSync(file, historyAsJson(history));
}

/** Loads a history saved by `historyAsJson`, the Temporal CLI or the Temporal UI's JSON download. */
export function readHistoryFile(file: string): History {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { events?: unknown }).events)) {
    throw new Error(`${file} is not a workflow history: expected a JSON object with an "events" array.`);
  }
  return historyFromJSON(parsed);
}

export function eventCount(history: History): number {
  return history.events?.length ?? 0;
}

/** `ActivityTaskScheduled` for an event carrying `activityTaskScheduledEventAttributes`. */
export function eventTypeName(event: HistoryEvent): string {
  const attributes = Object.keys(event).find((key) => key.endsWith('EventAttributes') && event[key as keyof HistoryEvent] != null);
  if (!attributes) return 'Unknown';
  const name = attributes.slice(0, -'EventAttributes'.length);
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** What a history event says about itself in one line: `#11 ActivityTaskScheduled (recordToolResults)`. */
export function describeEvent(event: HistoryEvent): string {
  const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
  return `#${Number(event.eventId)} ${eventTypeName(event)}${activity ? ` (${activity})` : ''}`;
}

/**
 * The activity types a history ran, in order: regular activities from ActivityTaskScheduled, local
 * activities from their `core_local_activity` markers (whose `data` detail names the type).
 */
export function activityTypes(history: History): string[] {
  return (history.events ?? []).flatMap((event) => {
    const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) return [scheduled];
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    if (!data) return [];
    const type = (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
    return type ? [type] : [];
  });
}
