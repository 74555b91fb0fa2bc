/**
 * The path to the first token in one local step (`turn-start-v1`): the user's message is stored
 * while the agent is activated, and memory is retrieved from the moment the agent's record says it
 * has memory (its first read; after a "start over" is recorded), alongside the rest of the
 * activation, the message and then the context guard. Before that patch these were four local
 * activities in two rounds of the first workflow task; one step saves the workflow's round trip
 * between the rounds and three history events.
 *
 * Every part is idempotent or read-only (the message and the context reset are keyed by the
 * request, the guard's summary by the turn), so a retry of the whole step redoes only what did not
 * land. Memory keeps its own rule: a failed retrieval is logged and the turn goes on without memory.
 */
import type { StoredMessage } from '../shared/messages';
import type { ActivationObserver } from '../agents/agent-activation';
import type { AgentConfiguration } from '../shared/turn';
import type { GuardContextInput } from './llm';
import type { MemoryRetrieval, RetrieveMemoryInput } from './memory';
import type { ActivateAgentInput, PersistUserMessageInput } from './store';

export interface BeginTurnInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  workspaceId: string;
  userId?: string;
  message: StoredMessage;
  /** "Start over": the context reset is written before the message, which then opens the new context. */
  freshStart: boolean;
  activation: ActivateAgentInput;
  /** Present when the turn may use memory (not the fast path, not a message memory skips); the agent's setting decides. */
  memory?: { query: string; widgetMode: boolean };
  /** The context guard runs unless the turn takes the fast path. */
  guardContext: boolean;
}

export interface BeginTurnResult {
  agent: AgentConfiguration;
  userMessage: { seq: number; created: boolean };
  /** Absent when memory was not searched (see `BeginTurnInput.memory` and the agent's `memoryEnabled`). */
  memory?: MemoryRetrieval;
  context?: { tokens: number; condensed: boolean };
  /** Where the step's time went; recorded with its result, so a slow first token can be explained from the history. */
  timings?: BeginTurnTimings;
}

/**
 * When the step started (epoch ms, the worker's clock) and how many ms after that each part had
 * finished; the parts run side by side, so they overlap. Absent parts did not run.
 */
export interface BeginTurnTimings {
  startedAt: number;
  messageMs: number;
  agentMs: number;
  memoryMs?: number;
  contextMs?: number;
  totalMs: number;
}

export interface BeginTurnSteps {
  recordContextReset(input: { turnId: string; conversationId: string; requestId: string }): Promise<void>;
  persistUserMessage(input: PersistUserMessageInput): Promise<{ seq: number; created: boolean }>;
  activateAgent(input: ActivateAgentInput, observer?: ActivationObserver): Promise<AgentConfiguration>;
  retrieveMemory(input: RetrieveMemoryInput): Promise<MemoryRetrieval>;
  guardContext(input: GuardContextInput): Promise<{ tokens: number; condensed: boolean }>;
}

export function createBeginTurnActivities(steps: BeginTurnSteps) {
  /** Stores the message, activates the agent, retrieves memory and guards the context; see the module comment. */
  async function beginTurn(input: BeginTurnInput): Promise<BeginTurnResult> {
    const { turnId, conversationId, requestId, workspaceId } = input;
    const startedAt = Date.now();
    const timings: Partial<BeginTurnTimings> = {};
    const timed = <T>(part: 'messageMs' | 'agentMs' | 'memoryMs' | 'contextMs', step: Promise<T>): Promise<T> =>
      step.then((value) => {
        timings[part] = Date.now() - startedAt;
        return value;
      });
    // "Start over": the context reset comes first; the message opens the new context, and memory
    // searches this conversation's memories from the reset on, so both wait for it.
    const reset = input.freshStart ? steps.recordContextReset({ turnId, conversationId, requestId }) : Promise.resolve();
    const stored = reset.then(() => steps.persistUserMessage({ turnId, conversationId, requestId, message: input.message }));
    // Memory is the longest read on the path to the first token: it starts as soon as the agent's
    // record is read, not after the whole activation and the message.
    let memory: Promise<MemoryRetrieval> | undefined;
    const recall = (memoryEnabled: boolean) => {
      if (!input.memory || !memoryEnabled || memory) return;
      const query = input.memory;
      memory = timed(
        'memoryMs',
        reset.then(() => steps.retrieveMemory({ turnId, workspaceId, conversationId, ...(input.userId ? { userId: input.userId } : {}), query: query.query, widgetMode: query.widgetMode })),
      );
      // Awaited below; when the step fails before that (the reset, the message or the activation),
      // its failure is the step's, and this one must not go unhandled.
      memory.catch(() => undefined);
    };
    const [userMessage, agent] = await Promise.all([
      timed('messageMs', stored),
      timed('agentMs', steps.activateAgent(input.activation, { found: (record) => recall(record.memoryEnabled) })),
    ]);
    recall(agent.memoryEnabled);
    const [recalled, context] = await Promise.all([
      agent.memoryEnabled ? memory : undefined,
      input.guardContext ? timed('contextMs', steps.guardContext({ turnId, conversationId, requestId, userMessageId: input.message.id, agent })) : undefined,
    ]);
    const { messageMs = 0, agentMs = 0, memoryMs, contextMs } = timings;
    return {
      agent,
      userMessage,
      ...(recalled ? { memory: recalled } : {}),
      ...(context ? { context } : {}),
      timings: { startedAt, messageMs, agentMs, ...(memoryMs !== undefined ? { memoryMs } : {}), ...(contextMs !== undefined ? { contextMs } : {}), totalMs: Date.now() - startedAt },
    };
  }

  return { beginTurn };
}
