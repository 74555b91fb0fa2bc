/** Reads a finished turn's history the way an operator reads it in the Temporal UI. */
import type { Client } from '@temporalio/client';

/**
 * The summaries of the turn's activity calls, in order: regular activities carry theirs on
 * ActivityTaskScheduled, local activities on their marker. Waits for the turn to finish first.
 */
export async function activitySummaries(client: Client, workflowId: string): Promise<string[]> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.result();
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const summary = event.userMetadata?.summary?.data;
    const isActivity = event.activityTaskScheduledEventAttributes || event.markerRecordedEventAttributes;
    return isActivity && summary ? [JSON.parse(Buffer.from(summary).toString('utf8')) as string] : [];
  });
}

/**
 * The agent configuration the turn recorded: the result of its `begin turn` step (a local activity
 * marker), or of its `activate agent` step in turns before `turn-start-v1`, decoded from the JSON
 * payload (run without payload encryption). Waits for the turn to finish first.
 */
export async function recordedActivation(client: Client, workflowId: string): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.result();
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const data = event.userMetadata?.summary?.data;
    const summary = event.markerRecordedEventAttributes && data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : undefined;
    if (summary === undefined || !(summary.startsWith('begin turn') || summary === 'activate agent')) continue;
    const payload = event.markerRecordedEventAttributes!.details?.result?.payloads?.[0];
    if (!payload?.data) continue;
    const result = JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>;
    return summary === 'activate agent' ? result : (result.agent as Record<string, unknown>);
  }
  throw new Error(`No recorded activation in ${workflowId}`);
}
