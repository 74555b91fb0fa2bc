/**
 * The scripted LLM's own record of each chat completion request (`GET /_scripted/requests`): when it
 * arrived, when its first byte left and how many deltas it has sent so far, on the same epoch clock
 * as the bench's client. The bench tags each prompt with a unique first word to find its request.
 */
import { z } from 'zod';

const requestSchema = z.looseObject({
  lastUserText: z.string(),
  startedAt: z.number(),
  firstByteAt: z.number().optional(),
  deltasSent: z.number(),
  outcome: z.string(),
});
const responseSchema = z.looseObject({ requests: z.array(requestSchema) });

export type ScriptedRequest = z.infer<typeof requestSchema>;

/** The requests whose user text starts with one of `tags` (first word), keyed by tag. */
export async function scriptedRequestsByTag(llmUrl: string, tags: ReadonlySet<string>): Promise<Map<string, ScriptedRequest>> {
  const root = llmUrl.replace(/\/v1\/?$/, '');
  const response = await fetch(`${root}/_scripted/requests`, { signal: AbortSignal.timeout(30_000) });
  const parsed = responseSchema.parse(await response.json());
  const found = new Map<string, ScriptedRequest>();
  for (const request of parsed.requests) {
    const space = request.lastUserText.indexOf(' ');
    const tag = space < 0 ? request.lastUserText : request.lastUserText.slice(0, space);
    if (tags.has(tag)) found.set(tag, request);
  }
  return found;
}
