/**
 * Builds the long-lived clients an entry point needs, once: pg pool, ioredis, the OpenAI client and
 * Temporal connections. Unreachable services fail fast with a message naming the URL and a fix.
 */
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { activeTracing } from './telemetry/active';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Cluster, Redis } from 'ioredis';
import OpenAI from 'openai';
import type { Configuration } from './config';
import type { Logger } from './logger';
import { dataConverterFor } from './codec/encryption-codec';
import { ServiceUnreachableError } from './db/database';

/**
 * The name a process gives its connections (Redis `CLIENT SETNAME`, Postgres `application_name`):
 * its role and the deployment's key prefix, so an operator (or a fault test) can tell them apart.
 */
export function connectionName(role: string, configuration: Pick<Configuration, 'redis'>): string {
  return `${role}@${configuration.redis.keyPrefix}`.replace(/[^\w@:.-]/g, '_');
}

/**
 * A connection to the deployment's Redis: one server (`Redis`) or a Redis Cluster (`Cluster`, which
 * routes each command to the shard owning its key). Code that must tell them apart (pub/sub: plain
 * or sharded) asks `isCluster`.
 */
export type RedisClient = Redis | Cluster;

export function isRedisCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster;
}

/**
 * A Redis connection that reconnects on its own: commands wait while it is away (ioredis queues and
 * retries them), and an `error` event is logged instead of ending the process.
 *
 * Auto-pipelining: the commands issued in one tick of the event loop (the appends of many streams)
 * leave in one socket write. Profiled at 200 streams, the worker spent 18 % of its main thread in
 * one write syscall per append script call (issue 17).
 */
export async function connectRedis(url: string, name: string, logger?: Logger): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 20, connectionName: name, enableAutoPipelining: true });
  redis.on('error', (error: Error) => logger?.warn({ connection: name, error: error.message }, 'Redis connection error; reconnecting'));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new ServiceUnreachableError(
      `Redis is not reachable at ${url} (${error instanceof Error ? error.message : String(error)}).\n` +
        'Set REDIS_URL to a running server, or start one: `docker compose up -d redis`, or `apt-get install redis-server`.',
    );
  }
  return redis;
}

/**
 * A Redis Cluster connection from its seed nodes (`host:port`). Commands go to the shard owning
 * their key; a node connection that drops reconnects, and a moved slot refreshes the slot map.
 * With `shardedSubscribers`, the client holds one extra connection per master for `SSUBSCRIBE`
 * (the API's live fan-out): one subscriber connection per shard, whatever the number of streams.
 */
export async function connectRedisCluster(nodes: string[], name: string, logger?: Logger, options: { shardedSubscribers?: boolean } = {}): Promise<Cluster> {
  const startupNodes = nodes.map((node) => {
    const separator = node.lastIndexOf(':');
    return { host: node.slice(0, separator), port: Number(node.slice(separator + 1)) };
  });
  const cluster = new Cluster(startupNodes, {
    lazyConnect: true,
    // One socket write per tick per shard (see connectRedis).
    enableAutoPipelining: true,
    shardedSubscribers: options.shardedSubscribers === true,
    // A dead shard subscriber is replaced at the next slot refresh, which its `end` triggers; the
    // periodic refresh is the safety net should that one be missed (and follows failovers).
    ...(options.shardedSubscribers ? { slotsRefreshInterval: 5000 } : {}),
    clusterNodeRetryStrategy: (times: number) => Math.min(50 * times, 2000),
    redisOptions: { maxRetriesPerRequest: 20, connectionName: name },
  });
  cluster.on('error', (error: Error) => logger?.warn({ connection: name, error: error.message }, 'Redis Cluster connection error; reconnecting'));
  cluster.on('node error', (error: Error, node: string) => logger?.warn({ connection: name, node, error: error.message }, 'Redis Cluster node error'));
  try {
    await cluster.connect();
    await cluster.ping();
  } catch (error) {
    cluster.disconnect();
    throw new ServiceUnreachableError(
      `Redis Cluster is not reachable at ${nodes.join(',')} (${error instanceof Error ? error.message : String(error)}).\n` +
        'Set REDIS_CLUSTER_NODES to host:port pairs of running cluster nodes, or unset it to use the single server at REDIS_URL.',
    );
  }
  return cluster;
}

/**
 * The deployment's Redis connection: the cluster when `REDIS_CLUSTER_NODES` is set, else the server
 * at `REDIS_URL`. `subscriber` marks a connection used for the API's live fan-out.
 */
export function connectRedisClient(redis: Configuration['redis'], name: string, logger?: Logger, options: { subscriber?: boolean } = {}): Promise<RedisClient> {
  if (redis.clusterNodes.length > 0) return connectRedisCluster(redis.clusterNodes, name, logger, { shardedSubscribers: options.subscriber === true });
  return connectRedis(redis.url, name, logger);
}

/** The OpenAI client; `maxRetries: 0` because Temporal owns retries. */
export function createOpenAiClient(baseUrl: string, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0, timeout: 10 * 60 * 1000 });
}

function temporalConnectionOptions(configuration: Configuration, address: string) {
  return {
    address,
    ...(configuration.temporal.tls ? { tls: true } : {}),
    ...(configuration.temporal.apiKey ? { apiKey: configuration.temporal.apiKey } : {}),
  };
}

export async function connectTemporalClient(configuration: Configuration, address: string): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(configuration, address));
  const dataConverter = dataConverterFor(configuration.encryption.keys);
  // Tracing on: the turn's workflow carries the API request's trace context in its headers.
  const interceptors = activeTracing() ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {};
  return new Client({ connection, namespace: configuration.temporal.namespace, ...(dataConverter ? { dataConverter } : {}), ...interceptors });
}

export async function connectTemporalWorker(configuration: Configuration, address: string): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(configuration, address));
}
