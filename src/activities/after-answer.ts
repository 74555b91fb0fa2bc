/**
 * The steps after a turn's answer, in one activity: a new conversation's title and memory
 * extraction, side by side. The answer is stored and streamed before this runs, so the user never
 * waits for it.
 *
 * A regular activity, on the activity workers: with a real model these are model calls of seconds,
 * and as local activities they would hold a workflow task (and its slot on the workflow worker) that
 * long, so new turns' workflow tasks would queue behind them. One activity rather than two: one
 * dispatch and three history events fewer per turn.
 *
 * Both steps are idempotent (the title is written only over the title the conversation was created
 * with; extraction records what it applied under the turn id), so a retry redoes only what did not
 * land. A failure of either is rethrown after both have run, with its own classification
 * (retryable or not), and the workflow logs it once the retries are spent.
 */
import type { ConversationTitleInput, ConversationTitleResult } from '../shared/conversation-title';
import type { ExtractionResult, RememberExchangeInput } from './memory';

export interface AfterAnswerInput {
  /** Present when the conversation still has its first message as title. */
  title?: ConversationTitleInput;
  /** Present when the turn learns from the exchange. */
  memory?: RememberExchangeInput;
}

export interface AfterAnswerResult {
  title?: ConversationTitleResult;
  memory?: ExtractionResult;
}

export interface AfterAnswerSteps {
  generateConversationTitle(input: ConversationTitleInput): Promise<ConversationTitleResult>;
  extractMemories(input: RememberExchangeInput): Promise<ExtractionResult>;
}

export function createAfterAnswerActivities(steps: AfterAnswerSteps) {
  /** Runs the title and memory extraction side by side; see the module comment. */
  async function afterAnswer(input: AfterAnswerInput): Promise<AfterAnswerResult> {
    const [title, memory] = await Promise.allSettled([
      input.title ? steps.generateConversationTitle(input.title) : Promise.resolve(undefined),
      input.memory ? steps.extractMemories(input.memory) : Promise.resolve(undefined),
    ]);
    if (title.status === 'rejected') throw title.reason;
    if (memory.status === 'rejected') throw memory.reason;
    return { ...(title.value ? { title: title.value } : {}), ...(memory.value ? { memory: memory.value } : {}) };
  }

  return { afterAnswer };
}
