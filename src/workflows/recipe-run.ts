/**
 * A recipe run: the recipe's stages in order, each a prompt to an agent (streamed by the model) or a
 * direct app action call (the tool activity, with its idempotency key and the per-run action
 * cache). The run streams through the chat bridge: each stage is a step of the UI message stream,
 * with a `data-stage` part when it starts and when it ends (name, index, status, duration).
 *
 * Deterministic: the stages and the templates (src/shared/recipe.ts) are rendered here from recorded
 * activity results, and durations come from the workflow clock. A worker that dies mid-stage costs
 * the retry of that stage's activity; a completed action is never run again (tool activity key
 * `<run workflow id>:<stage>:stage-<stage>`). A stop cancels the run: the stage in progress ends
 * `cancelled` and the stream finishes with finish reason `cancelled`.
 */
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { toolCallKey } from '../shared/ids';
import { STORE_STEP, TOOL_CALL } from '../shared/policy';
import { renderTemplate, renderValue, type RecipeContext, type RecipeStage } from '../shared/recipe';
import type { StreamEvent } from '../shared/stream-events';

export interface RecipeRunInput {
  /** The run's workflow id: also the id of its stream (its event log). */
  runWorkflowId: string;
  workspaceId: string;
  stages: RecipeStage[];
  input: Record<string, string>;
}

export interface RecipeRunResult {
  status: 'completed' | 'failed';
  outputs: Record<string, string>;
}

function failureMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
}

/** Runs a recipe's stages; see the module comment. */
export async function recipeRun(input: RecipeRunInput): Promise<RecipeRunResult> {
  const steps = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '200 milliseconds', maximumAttempts: 10 } });
  const prompts = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '10 seconds', retry: { initialInterval: '1 second', maximumAttempts: 3 } });
  const tools = proxyActivities<Activities>(TOOL_CALL);
  const store = proxyLocalActivities<Activities>(STORE_STEP);
  const runId = input.runWorkflowId;
  const publish = (writer: string, events: StreamEvent[]) => steps.publishRecipeEvents({ runId, writer, events });
  const context: RecipeContext = { input: input.input, stages: {} };
  let current: { index: number; stage: RecipeStage; started: number } | undefined;

  const endStage = (status: 'completed' | 'failed' | 'cancelled', extra: StreamEvent[] = []) =>
    publish(`stage:${current!.index}:end`, [
      ...extra,
      { kind: 'recipe-stage', index: current!.index, name: current!.stage.name, stageKind: current!.stage.kind, status, durationMs: Date.now() - current!.started },
      { kind: 'hop-end', hop: current!.index, attempt: 1, finishReason: status === 'completed' ? 'stop' : status === 'cancelled' ? 'cancelled' : 'error' },
    ]);

  try {
    for (const [index, stage] of input.stages.entries()) {
      current = { index, stage, started: Date.now() };
      await publish(`stage:${index}:start`, [
        { kind: 'hop-start', hop: index, attempt: 1 },
        { kind: 'recipe-stage', index, name: stage.name, stageKind: stage.kind, status: 'running' },
      ]);
      if (stage.kind === 'action') {
        const toolCallId = `stage-${index}`;
        const parsedArguments = renderValue(stage.arguments, context) as Record<string, unknown>;
        await publish(`stage:${index}:call`, [{ kind: 'tool-input-available', hop: index, toolCallId, toolName: stage.action, input: parsedArguments }]);
        const result = await tools.executeTool.executeWithOptions({ ...TOOL_CALL, summary: `stage ${index} · ${stage.action}` }, [
          {
            turnId: runId,
            hop: index,
            toolCallId,
            idempotencyKey: toolCallKey(runId, index, toolCallId),
            workspaceId: input.workspaceId,
            conversationId: runId,
            name: stage.action,
            arguments: parsedArguments,
            // The recipe's definition grants the action it names (checked when it was saved).
            allowedTools: [stage.action],
          },
        ]);
        const outcome: StreamEvent = result.isError
          ? { kind: 'tool-output-error', hop: index, toolCallId, errorText: result.content }
          : { kind: 'tool-output-available', hop: index, toolCallId, output: result.output };
        if (result.isError) {
          await endStage('failed', [outcome, { kind: 'error', errorText: `Stage "${stage.name}" failed: ${result.content}` }]);
          await publish('run:finish', [{ kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } }]);
          return { status: 'failed', outputs: context.stages };
        }
        context.stages[stage.name] = result.content;
        await endStage('completed', [outcome]);
      } else {
        const agent = await store.activateAgent.executeWithOptions({ ...STORE_STEP, summary: `stage ${index} · activate agent` }, [
          { workspaceId: input.workspaceId, ...(stage.agentId ? { agentId: stage.agentId } : {}), fastPath: true },
        ]);
        const answer = await prompts.recipePrompt.executeWithOptions(
          { startToCloseTimeout: '5 minutes', heartbeatTimeout: '10 seconds', retry: { initialInterval: '1 second', maximumAttempts: 3 }, summary: `stage ${index} · prompt · ${agent.model}` },
          [{ runId, workspaceId: input.workspaceId, stage: index, agent, prompt: renderTemplate(stage.prompt, context) }],
        );
        context.stages[stage.name] = answer.text;
        await endStage('completed');
      }
    }
    await publish('run:finish', [{ kind: 'turn-finish', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } }]);
    return { status: 'completed', outputs: context.stages };
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(async () => {
        if (current) await endStage('cancelled');
        await publish('run:finish', [{ kind: 'turn-finish', finishReason: 'cancelled', usage: { inputTokens: 0, outputTokens: 0 } }]);
      });
      throw error;
    }
    const message = failureMessage(error);
    await CancellationScope.nonCancellable(async () => {
      if (current) await endStage('failed', [{ kind: 'error', errorText: `Stage "${current.stage.name}" failed: ${message}` }]);
      await publish('run:finish', [{ kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } }]);
    });
    throw ApplicationFailure.nonRetryable(`Recipe run failed: ${message}`, 'RecipeRunFailed');
  }
}
