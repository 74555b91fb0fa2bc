/**
 * All activities of the worker, built from dependencies created once in the entry point (the OpenAI
 * client, ioredis, the pg pool). Workflow code imports this module as a type only.
 */
import type OpenAI from 'openai';
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import { ChatRepository } from '../db/chat-repository';
import { ConversationRepository } from '../db/conversation-repository';
import { UsageRepository } from '../db/usage-repository';
import { WorkspaceRepository } from '../db/workspace-repository';
import type { Logger } from '../logger';
import type { Configuration } from '../config';
import { EventLog, eventLogOptionsFrom, type EventLogOptions } from '../stream/event-log';
import type { DeltaPersistenceOptions } from '../llm/delta-persistence';
import type { StopSignals } from '../stream/stop-signals';
import { createLlmActivities } from './llm';
import { createMemoryActivities } from './memory';
import { createToolActivities } from './tools';
import { createStoreActivities } from './store';
import { createTitleActivities } from './title';

export interface ActivityDependencies {
  pool: Pool;
  redis: Redis;
  openai: OpenAI;
  logger: Logger;
  eventLogOptions: EventLogOptions;
  defaultModel: string;
  /** Who serves the deployment's model (`LLM_PROVIDER`, or derived from its base URL). */
  provider: string;
  /** Stop messages over Redis (one pattern subscription per worker process). */
  stopSignals?: StopSignals;
  deltaPersistence?: DeltaPersistenceOptions;
  /** Root of the per-workspace directories the `workspace_*` tools may touch. */
  workspaceFilesRoot: string;
}

/** The activity dependencies of a deployment: its configuration plus the clients built once. */
export function activityDependenciesFrom(
  configuration: Configuration,
  clients: Pick<ActivityDependencies, 'pool' | 'redis' | 'openai' | 'logger' | 'stopSignals'>,
): ActivityDependencies {
  return {
    ...clients,
    defaultModel: configuration.llm.defaultModel,
    provider: configuration.llm.provider,
    workspaceFilesRoot: configuration.workspaceFilesRoot,
    deltaPersistence: configuration.llm.deltaPersistence,
    eventLogOptions: eventLogOptionsFrom(configuration),
  };
}

export function createActivities(dependencies: ActivityDependencies) {
  const chats = new ChatRepository(dependencies.pool);
  const workspaces = new WorkspaceRepository(dependencies.pool);
  const usage = new UsageRepository(dependencies.pool);
  const eventLog = new EventLog(dependencies.redis, dependencies.eventLogOptions);
  return {
    ...createStoreActivities({ chats, workspaces, usage, eventLog, logger: dependencies.logger, defaultModel: dependencies.defaultModel, provider: dependencies.provider }),
    ...createMemoryActivities({ pool: dependencies.pool, logger: dependencies.logger }),
    ...createToolActivities({ pool: dependencies.pool, logger: dependencies.logger, workspaceFilesRoot: dependencies.workspaceFilesRoot }),
    ...createTitleActivities({ conversations: new ConversationRepository(dependencies.pool), openai: dependencies.openai, logger: dependencies.logger }),
    ...createLlmActivities({
      openai: dependencies.openai,
      provider: dependencies.provider,
      chats,
      usage,
      eventLog,
      logger: dependencies.logger,
      deltaPersistence: dependencies.deltaPersistence,
      stopSignals: dependencies.stopSignals,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
