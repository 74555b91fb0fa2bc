/**
 * Activities of recipe runs: publishing a stage's events to the run's stream, and a prompt stage's
 * model call, streamed delta by delta into the same log a chat turn uses (so the same bridge, the
 * same protocols and the same resume serve a run).
 *
 * Both write through a named writer per stage and attempt: a retried activity repeats nothing the
 * client already has, and an older attempt is fenced off once a newer one wrote.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from '../logger';
import type { LlmClients } from '../llm/connection-clients';
import { classifyLlmError } from '../llm/classify-error';
import type { EventLog } from '../stream/event-log';
import type { StreamEvent } from '../shared/stream-events';
import type { AgentConfiguration } from '../shared/turn';

export interface RecipeActivityDependencies {
  eventLog: EventLog;
  clients: LlmClients;
  logger: Logger;
}

export function createRecipeActivities(dependencies: RecipeActivityDependencies) {
  const { eventLog, clients, logger } = dependencies;

  /** Publishes events of a run in order, once per writer (a retry appends nothing twice). */
  async function publishRecipeEvents(input: { runId: string; writer: string; events: StreamEvent[] }): Promise<void> {
    const publish = eventLog.publisher(input.runId, { name: input.writer, attempt: 1 });
    for (const event of input.events) await publish(event);
  }

  /**
   * A prompt stage: the agent's model answers the rendered prompt, streamed into the run's log as
   * the stage's step; heartbeats while it streams and stops when the run is stopped. Returns the text.
   */
  async function recipePrompt(input: { runId: string; workspaceId: string; stage: number; agent: AgentConfiguration; prompt: string }): Promise<{ text: string }> {
    const context = Context.current();
    const attempt = context.info.attempt;
    const publish = eventLog.publisher(input.runId, { name: `stage:${input.stage}:prompt`, attempt });
    if (attempt > 1) await publish({ kind: 'hop-restart', hop: input.stage, attempt });
    const openai = await clients.clientFor(input.workspaceId, input.agent.connection);
    const heartbeat = setInterval(() => context.heartbeat(), 1000);
    let text = '';
    try {
      const stream = await openai.chat.completions.create(
        {
          model: input.agent.model,
          messages: [
            { role: 'system', content: input.agent.systemPrompt },
            { role: 'user', content: input.prompt },
          ],
          stream: true,
          ...(input.agent.temperature !== undefined ? { temperature: input.agent.temperature } : {}),
        },
        { signal: context.cancellationSignal },
      );
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (!delta) continue;
        text += delta;
        await publish({ kind: 'text-delta', hop: input.stage, attempt, delta });
      }
    } catch (error) {
      logger.warn({ runId: input.runId, stage: input.stage, attempt, error: error instanceof Error ? error.message : String(error) }, 'recipe prompt stage failed');
      throw classifyLlmError(error, { partialText: text });
    } finally {
      clearInterval(heartbeat);
    }
    return { text };
  }

  return { publishRecipeEvents, recipePrompt };
}
