/**
 * The API process entry: connects to Temporal, Postgres and Redis (one command connection and one
 * subscriber connection for the whole process, per shard on a Redis Cluster) and serves until SIGINT/SIGTERM.
 */
// First: tracing instruments the modules imported after it.
import '../telemetry/register';
import { connectionName, connectRedisClient, connectTemporalClient } from '../clients';
import { loadConfiguration, type Configuration } from '../config';
import { createPool } from '../db/database';
import { WorkspaceRepository } from '../db/workspace-repository';
import { createLogger, type Logger } from '../logger';
import { startApi, type RunningApi } from './server';
import { seedDemoAgent } from '../agents/demo-seed';
import { ensureCatalogueSchedule } from '../mcp/catalogue-workflows';

/** Starts the API; `stop` ends open streams and closes every connection it opened. */
export async function startApiProcess(configuration: Configuration, temporalAddress: string, logger: Logger, port?: number): Promise<RunningApi> {
  const pool = createPool(configuration.databaseUrl, { applicationName: connectionName('durable-chat-api', configuration), logger });
  const redis = await connectRedisClient(configuration.redis, connectionName('durable-chat-api', configuration), logger);
  const subscriber = await connectRedisClient(configuration.redis, connectionName('durable-chat-api-subscriber', configuration), logger, { subscriber: true });
  const temporal = await connectTemporalClient(configuration, temporalAddress);
  const api = await startApi({ configuration, pool, redis, subscriber, temporal, logger }, port);
  // The scheduled refresh of the MCP catalogues: a timer workflow, started once per task queue.
  await ensureCatalogueSchedule(temporal, configuration.temporal.taskQueue, configuration.mcp.refreshIntervalMs).catch((error: unknown) =>
    logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'the scheduled MCP catalogue refresh could not be started; it is tried again at the next start'),
  );
  return {
    ...api,
    async stop() {
      await api.stop();
      await temporal.connection.close();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
    },
  };
}

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel, 'api');
  if (!configuration.temporal.address) throw new Error('TEMPORAL_ADDRESS is not set (npm start sets it for you).');
  const api = await startApiProcess(configuration, configuration.temporal.address, logger);
  if (configuration.demoApiKey) {
    const pool = createPool(configuration.databaseUrl, { logger });
    await new WorkspaceRepository(pool).seedWorkspace({ workspaceId: 'demo', workspaceName: 'Demo workspace', userId: 'demo-user', userName: 'Demo user', apiKey: configuration.demoApiKey });
    await seedDemoAgent(pool, 'demo');
    await pool.end();
    logger.info('demo workspace seeded for DEMO_API_KEY');
  }
  logger.info({ url: api.url }, 'API listening');
  const shutdown = () => void api.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  run().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
