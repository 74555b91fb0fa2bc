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
import type { UsageRepository } from '../db/usage-repository';
import { countTokens } from 'gpt-tokenizer';
import { countMessageTokens } from '../llm/context-guard';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

export interface RecipeActivityDependencies {
  eventLog: EventLog;
  clients: LlmClients;
  usage: UsageRepository;
  /** The deployment's provider name, for usage rows of calls on its endpoint. */
  provider: string;
  logger: Logger;
}

export function createRecipeActivities(dependencies: RecipeActivityDependencies) {
  const { eventLog, clients, logger, usage } = dependencies;

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
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: input.agent.systemPrompt },
      { role: 'user', content: input.prompt },
    ];
    const started = performance.now();
    let firstTokenMs: number | undefined;
    let reported: { prompt_tokens: number; completion_tokens: number } | undefined;
    let outcome: 'completed' | 'failed' | 'cancelled' = 'failed';
    let text = '';
    try {
      const stream = await openai.chat.completions.create(
        {
          model: input.agent.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(input.agent.temperature !== undefined ? { temperature: input.agent.temperature } : {}),
        },
        { signal: context.cancellationSignal },
      );
      for await (const chunk of stream) {
        if (chunk.usage) reported = chunk.usage;
        const delta = chunk.choices[0]?.delta?.content;
        if (!delta) continue;
        firstTokenMs ??= Math.round(performance.now() - started);
        text += delta;
        await publish({ kind: 'text-delta', hop: input.stage, attempt, delta });
      }
      outcome = 'completed';
    } catch (error) {
      if (context.cancellationSignal.aborted) outcome = 'cancelled';
      logger.warn({ runId: input.runId, stage: input.stage, attempt, error: error instanceof Error ? error.message : String(error) }, 'recipe prompt stage failed');
      throw classifyLlmError(error, { partialText: text });
    } finally {
      clearInterval(heartbeat);
      // Every attempt is billed, as for chat hops: the run's id stands for the turn and the conversation.
      await usage
        .recordAttempt({
          turnId: input.runId,
          hop: input.stage,
          attempt,
          conversationId: input.runId,
          workspaceId: input.workspaceId,
          agentId: input.agent.agentId,
          model: input.agent.model,
          provider: input.agent.provider ?? dependencies.provider,
          byok: input.agent.byok ?? false,
          ...(input.agent.connection?.byok ? { connectionId: input.agent.connection.id } : {}),
          inputTokens: reported?.prompt_tokens ?? countMessageTokens(messages),
          outputTokens: reported?.completion_tokens ?? countTokens(text),
          latencyMs: Math.round(performance.now() - started),
          ...(firstTokenMs !== undefined ? { timeToFirstTokenMs: firstTokenMs } : {}),
          estimated: reported === undefined,
          outcome,
        })
        .catch((error: unknown) => logger.warn({ runId: input.runId, stage: input.stage, error: String(error) }, 'recipe prompt usage not recorded'));
    }
    return { text };
  }

  return { publishRecipeEvents, recipePrompt };
}
