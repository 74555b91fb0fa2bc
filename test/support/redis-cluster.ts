/**
 * A real Redis Cluster for a test file: three masters (no replicas) from Debian's `redis-server`
 * binary, in cluster mode on free ports, their slots assigned and the nodes introduced to each other
 * with CLUSTER ADDSLOTSRANGE / CLUSTER MEET from code. Each node keeps its files in a temporary
 * directory removed at the end. When the binary is missing, the setup installs Debian's
 * `redis-server` package with apt-get (as root), the way ./chromium.ts installs Chromium.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** `REDIS_SERVER_PATH` points the tests at another `redis-server` (Redis ≥ 7 for sharded pub/sub). */
export const REDIS_SERVER_PATH = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';

const SLOTS = 16384;

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`))));
  });
}

/** Installs Debian's `redis-server` package when the binary is missing; resolves with its path. */
export async function ensureRedisServer(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<string> {
  if (existsSync(REDIS_SERVER_PATH)) return REDIS_SERVER_PATH;
  if (process.env.REDIS_SERVER_PATH) throw new Error(`REDIS_SERVER_PATH=${REDIS_SERVER_PATH} does not exist.`);
  if (process.getuid?.() !== 0) {
    throw new Error(`The Redis Cluster test needs redis-server at ${REDIS_SERVER_PATH}. Install it once with: sudo apt-get update && sudo apt-get install -y redis-server`);
  }
  log(`redis-server is missing at ${REDIS_SERVER_PATH}: installing Debian's redis-server package for the Redis Cluster test (once per machine).`);
  await run('apt-get', ['update']);
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', 'redis-server']);
  if (!existsSync(REDIS_SERVER_PATH)) throw new Error(`apt-get installed redis-server, but ${REDIS_SERVER_PATH} is still missing.`);
  return REDIS_SERVER_PATH;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms${lastError ? ` (${String(lastError)})` : ''}`);
}

export interface ClusterNode {
  port: number;
  address: string;
  /** The slots it owns: [first, last]. */
  slots: [number, number];
  /** A plain connection to this node (admin commands: CLIENT LIST/KILL, CLUSTER …). */
  admin: Redis;
}

export interface RedisCluster {
  /** `host:port` of every master, for `REDIS_CLUSTER_NODES`. */
  addresses: string[];
  nodes: ClusterNode[];
  /** The master owning a key (or a shard channel), by `CLUSTER KEYSLOT`. */
  nodeOf(key: string): Promise<ClusterNode>;
  stop(): Promise<void>;
}

/** Starts `masters` redis-server processes in cluster mode and joins them into one cluster. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const binary = await ensureRedisServer();
  const directory = await mkdtemp(path.join(os.tmpdir(), 'durable-chat-redis-cluster-'));
  const processes: ChildProcess[] = [];
  const admins: Redis[] = [];
  const killAll = () => {
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async () => {
    for (const admin of admins) admin.disconnect();
    await Promise.all(
      processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    process.removeListener('exit', killAll);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const nodes: ClusterNode[] = [];
    for (let index = 0; index < masters; index++) {
      const port = await freeClusterPort(taken);
      const child = spawn(
        binary,
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', path.join(directory, `nodes-${port}.conf`),
          '--cluster-node-timeout', '5000',
          '--dir', directory,
          '--dbfilename', `dump-${port}.rdb`,
          '--save', '',
          '--appendonly', 'no',
          '--protected-mode', 'no',
          '--logfile', path.join(directory, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      processes.push(child);
      const first = Math.floor((SLOTS * index) / masters);
      const last = Math.floor((SLOTS * (index + 1)) / masters) - 1;
      const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (times) => Math.min(times * 50, 500) });
      admin.on('error', () => undefined);
      admins.push(admin);
      nodes.push({ port, address: `127.0.0.1:${port}`, slots: [first, last], admin });
    }
    for (const node of nodes) {
      await waitFor(`redis-server on ${node.address} answers`, async () => {
        if (node.admin.status === 'wait') await node.admin.connect();
        return (await node.admin.ping()) === 'PONG' ? true : undefined;
      });
      await node.admin.call('CLUSTER', 'ADDSLOTSRANGE', String(node.slots[0]), String(node.slots[1]));
    }
    for (const node of nodes.slice(1)) await nodes[0]!.admin.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port));
    for (const node of nodes) {
      await waitFor(`the cluster is ok as seen from ${node.address}`, async () => {
        const info = String(await node.admin.call('CLUSTER', 'INFO'));
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`) ? true : undefined;
      });
    }
    return {
      addresses: nodes.map((node) => node.address),
      nodes,
      async nodeOf(key) {
        const slot = Number(await nodes[0]!.admin.call('CLUSTER', 'KEYSLOT', key));
        return nodes.find((node) => slot >= node.slots[0] && slot <= node.slots[1])!;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
