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
 * The result of the turn's `activate agent` step as its history records it (a local activity marker),
 * decoded from the JSON payload (run without payload encryption). Waits for the turn to finish first.
 */
export async function recordedActivation(client: Client, workflowId: string): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.result();
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const summary = event.userMetadata?.summary?.data;
    if (!event.markerRecordedEventAttributes || !summary || JSON.parse(Buffer.from(summary).toString('utf8')) !== 'activate agent') continue;
    const payload = event.markerRecordedEventAttributes.details?.result?.payloads?.[0];
    if (payload?.data) return JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>;
  }
  throw new Error(`No recorded activation in ${workflowId}`);
}
