/**
 * Memory activities: retrieve what the workspace and the conversation remember before the model
 * answers, and remember the exchange once the turn is done.
 *
 * Three tiers, as in the seed service:
 * - workspace: facts users added through `/api/memories`, searched across the workspace;
 * - session: what earlier turns of this conversation said, searched within the conversation;
 * - immediate: the last messages of the conversation. The LLM activity already sends the recent
 *   messages as chat messages, so this activity does not fetch that tier, and does not list it as
 *   skipped either: `skippedTiers` names only tiers that were wanted and not searched.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import { ConversationNotInWorkspaceError, MemoryRepository, type MemoryMatch, type MemoryTier } from '../memory/memory-repository';
import { MEMORY_PROMPT_TEXT_LIMIT } from '../memory/memory-prompt';
import { memorySkipReason } from '../shared/turn-planning';

export interface MemoryActivityDependencies {
  pool: Pool;
  logger: Logger;
}

export interface RetrieveMemoryInput {
  turnId: string;
  workspaceId: string;
  conversationId: string;
  query: string;
  /** An embedded widget may serve many end users: the workspace tier is not searched. */
  widgetMode: boolean;
  /** Matches per tier; 4 when omitted, at most 20. */
  limitPerTier?: number;
}

export interface RetrievedMemory {
  id: string;
  tier: MemoryTier;
  text: string;
}

export interface MemoryRetrieval {
  /** Workspace matches first, then session matches, each tier best first. */
  memories: RetrievedMemory[];
  /** Tiers that were not searched: `workspace` in widget mode, both when retrieval failed. */
  skippedTiers: string[];
}

export interface RememberExchangeInput {
  turnId: string;
  workspaceId: string;
  conversationId: string;
  userText: string;
  assistantText: string;
}

const DEFAULT_LIMIT_PER_TIER = 4;
const MAX_LIMIT_PER_TIER = 20;

function limitOf(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested)) return DEFAULT_LIMIT_PER_TIER;
  return Math.min(MAX_LIMIT_PER_TIER, Math.max(1, Math.floor(requested)));
}

/** Memory text returned to the workflow: cut to what the prompt shows, so history stays small. */
function toRetrieved(match: MemoryMatch): RetrievedMemory {
  const characters = [...match.content];
  const text = characters.length > MEMORY_PROMPT_TEXT_LIMIT ? characters.slice(0, MEMORY_PROMPT_TEXT_LIMIT).join('') : match.content;
  return { id: match.id, tier: match.tier, text };
}

export function createMemoryActivities(dependencies: MemoryActivityDependencies) {
  const { logger } = dependencies;
  const memories = new MemoryRepository(dependencies.pool);

  /**
   * Searches the workspace and session tiers for the user's message. Read-only, so a retry is
   * harmless. A failed search never fails the turn: it is logged with the turn id and the turn goes
   * on without memory (`memories: []`, both tiers reported skipped), as the seed service does.
   */
  async function retrieveMemory(input: RetrieveMemoryInput): Promise<MemoryRetrieval> {
    const limit = limitOf(input.limitPerTier);
    const skippedTiers: MemoryTier[] = input.widgetMode ? ['workspace'] : [];
    try {
      const [workspaceMatches, sessionMatches] = await Promise.all([
        input.widgetMode ? Promise.resolve([]) : memories.searchWorkspace(input.workspaceId, input.query, limit),
        memories.searchSession(input.workspaceId, input.conversationId, input.query, limit),
      ]);
      const found = [...workspaceMatches, ...sessionMatches].map(toRetrieved);
      logger.info({ turnId: input.turnId, workspace: workspaceMatches.length, session: sessionMatches.length, skippedTiers }, 'memory retrieved');
      return { memories: found, skippedTiers };
    } catch (error) {
      logger.warn({ turnId: input.turnId, error: error instanceof Error ? error.message : String(error) }, 'memory retrieval failed; the turn goes on without memory');
      return { memories: [], skippedTiers: ['workspace', 'session'] };
    }
  }

  /**
   * Stores the turn's exchange as a session memory of its conversation, so later turns can recall
   * it. Idempotent on the turn id: a retry, or a replayed workflow calling it again, stores one row.
   * Greetings, acknowledgements and chat commands are not worth remembering and store nothing.
   * A conversation outside the workspace is a non-retryable `ConversationNotFound`; database errors
   * are thrown for Temporal to retry.
   */
  async function rememberExchange(input: RememberExchangeInput): Promise<void> {
    const skip = memorySkipReason(input.userText, { widgetMode: false });
    if (!input.userText.trim() || (skip && skip !== 'too-short')) {
      logger.debug({ turnId: input.turnId, reason: skip ?? 'empty' }, 'exchange not remembered');
      return;
    }
    try {
      const { memory, created } = await memories.rememberExchange(input);
      logger.info({ turnId: input.turnId, memoryId: memory.id, created }, 'exchange remembered');
    } catch (error) {
      if (error instanceof ConversationNotInWorkspaceError) throw ApplicationFailure.nonRetryable(error.message, 'ConversationNotFound');
      throw error;
    }
  }

  return { retrieveMemory, rememberExchange };
}
