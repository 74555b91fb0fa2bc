/**
 * Gives `npm start` and the tests a Temporal server: the configured `TEMPORAL_ADDRESS` when it is
 * reachable, otherwise a Temporal CLI dev server started here (SQLite file for `npm start`, memory for
 * tests), with the search attributes the project uses registered at start.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../logger';
import { cliSearchAttributeArguments, SEARCH_ATTRIBUTE_KEYS } from '../shared/search-attributes';
import { spawnGuarded, stopGuardedProcess } from './child-process';
import { ensureTemporalCli, TemporalCliUnavailableError } from './temporal-cli';

export interface TemporalServer {
  address: string;
  namespace: string;
  /** The Temporal UI URL, when this process started a dev server with its UI. */
  uiUrl?: string;
  /** True when this process started the server (and `stop` ends it). */
  owned: boolean;
  /** For a dev server started here: its Prometheus endpoint (`--metrics-port`), which the bench reads. */
  metricsUrl?: string;
  /** For a dev server started here: settles when it exits (not when `stop` ends it). */
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** SQLite file for persistent state; omitted means in memory. */
  databaseFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** The codec server the Temporal UI calls to show decrypted payloads. */
  uiCodecEndpoint?: string;
  /** Extra `--dynamic-config-value KEY=VALUE` pairs. */
  dynamicConfig?: Record<string, unknown>;
  logger: Logger;
  environment?: NodeJS.ProcessEnv;
}

/**
 * Dynamic config of the dev servers this project starts. Eager activity dispatch (off by default
 * before server 1.32) hands the LLM activity to the worker in the workflow task's response, and one
 * task-queue partition lets tasks sync-match without partition forwarding: together they cut the
 * wait before the LLM activity starts from ~26 ms to ~0 (measured with `npm run bench`).
 *
 * The history service hands new workflow and activity tasks to matching through its transfer
 * queue, whose reader loads at most `history.transferProcessorMaxPollRPS` times a second (20 by
 * default): a task waited up to 50 ms for the next load. Both dispatches on the path to the first
 * token (the turn's first workflow task; the LLM hop when it runs on another process than its
 * workflow) paid it: workflow started → first task started 21.3 → 5.0 ms and hop scheduled →
 * started 35.0 → 3.5 ms at the p50 of `BENCH_SCENARIOS=ttft npm run bench` (2026-12-01).
 *
 * A timer task due sooner than `history.timerProcessorMaxTimeShift` (1 s by default, a margin for
 * clock skew between the hosts of a cluster) is moved to that margin: the retry of a hop lost with
 * its worker, due 100 ms after its heartbeat timed out, started 657 ms p50 after it was due
 * (`BENCH_SCENARIOS=crash npm run bench`, `retryDueToAttemptStartedMs`), 5 ms with 10 ms here (one
 * process, one clock).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxTimeShift': '10ms',
  'system.enableActivityEagerExecution': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** Asks the OS for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when a Temporal frontend answers at the address within the timeout. */
export async function isTemporalReachable(address: string, namespace: string, timeoutMs = 3000): Promise<boolean> {
  const [host, portText] = address.split(':');
  if (!host || !portText || !(await isPortOpen(host, Number(portText), timeoutMs))) return false;
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function waitUntilReady(address: string, namespace: string, child: ChildProcess, deadlineMs: number, output: () => string) {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`The Temporal dev server exited with ${child.exitCode}:\n${output()}`);
    if (await isTemporalReachable(address, namespace, 1000)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`The Temporal dev server did not become ready at ${address} within ${deadlineMs} ms:\n${output()}`);
}

/**
 * Starts `temporal server start-dev` as a child process and waits until its frontend answers. Ports
 * not given are picked free just before the start (its HTTP and metrics ports always are); another
 * process can still take one in between (they come from the ephemeral range that outgoing
 * connections use too), so a server that exits because an address is in use is started again, on
 * new ports, up to three times.
 */
export async function startDevServer(options: DevServerOptions): Promise<TemporalServer> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launchDevServer(options);
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes('address already in use');
      if (!portTaken || attempt >= 3) throw error;
      options.logger.warn({ attempt }, 'a port picked for the Temporal dev server was taken before it started; starting it on new ports');
    }
  }
}

async function launchDevServer(options: DevServerOptions): Promise<TemporalServer> {
  const environment = options.environment ?? process.env;
  const namespace = options.namespace ?? 'default';
  const binary = await ensureTemporalCli(options.logger, environment);
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--log-format', 'json'];
  const metricsPort = await freePort();
  args.push('--http-port', String(await freePort()), '--metrics-port', String(metricsPort));
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.uiCodecEndpoint && !options.headless) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (options.databaseFile) {
    mkdirSync(path.dirname(options.databaseFile), { recursive: true });
    args.push('--db-filename', options.databaseFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  args.push(...cliSearchAttributeArguments());
  const dynamicConfig = { ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig };
  for (const [key, value] of Object.entries(dynamicConfig)) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  const child = spawnGuarded('temporal-dev-server', binary, args, environment);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilReady(address, namespace, child, 60_000, () => output);
  } catch (error) {
    await stopGuardedProcess(child, 5000);
    throw error;
  }
  options.logger.info({ address, pid: child.pid }, 'Temporal dev server started');
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const settle = () => {
      if (!stopping) resolve({ code: child.exitCode, signal: child.signalCode });
    };
    if (child.exitCode !== null || child.signalCode !== null) settle();
    else child.once('exit', settle);
  });
  return {
    address,
    namespace,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    owned: true,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    exited,
    stop: () => {
      stopping = true;
      return stopGuardedProcess(child);
    },
  };
}

/**
 * Dev servers that an earlier run left behind on this state file (found in /proc by their command
 * line), stopped before a new one starts: a new server never shares the file with a stale one, and
 * a stale one is never mistaken for ours. Returns how many were stopped.
 */
export async function stopStaleDevServers(databaseFile: string, logger: Logger): Promise<number> {
  const stale = devServerProcesses(databaseFile);
  for (const pid of stale) {
    logger.warn({ pid, databaseFile }, 'stopping a stale Temporal dev server left by an earlier run');
    signal(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 5000;
  while (stale.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pid of stale.filter(isAlive)) signal(pid, 'SIGKILL');
  while (stale.some(isAlive) && Date.now() < deadline + 2000) await new Promise((resolve) => setTimeout(resolve, 100));
  return stale.length;
}

/** Pids of `temporal server start-dev` processes using this state file (Linux /proc; none elsewhere). */
export function devServerProcesses(databaseFile: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const file = argv.indexOf('--db-filename');
    // The guardian shell carries the same arguments: only the server binary itself counts.
    if (argv.includes('start-dev') && file >= 0 && argv[file + 1] === databaseFile && !argv[0]?.endsWith('sh')) pids.push(Number(entry));
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * A dev server on a state file that is started again when it dies (its state survives in the file,
 * on the same port, so the worker and the API reconnect on their own). `stop` ends it for good.
 */
export async function startSupervisedDevServer(options: DevServerOptions & { databaseFile: string; port: number }): Promise<TemporalServer> {
  await stopStaleDevServers(options.databaseFile, options.logger);
  let current = await startDevServer(options);
  let stopped = false;
  // A restart in progress: `stop` waits for it, so no server it starts outlives `stop`.
  let restarting: Promise<void> | undefined;
  const restart = async (server: TemporalServer, exit: { code: number | null; signal: NodeJS.Signals | null }) => {
    options.logger.warn({ ...exit, address: server.address }, 'the Temporal dev server exited; starting it again');
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await stopStaleDevServers(options.databaseFile, options.logger);
        current = await startDevServer(options);
        if (stopped) return await current.stop();
        options.logger.info({ address: current.address, attempt }, 'Temporal dev server restarted');
        return watch(current);
      } catch (error) {
        options.logger.error({ error: String(error), attempt }, 'restarting the Temporal dev server failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * attempt)));
      }
    }
  };
  const watch = (server: TemporalServer) => {
    void server.exited?.then((exit) => {
      if (!stopped) restarting = restart(server, exit).finally(() => (restarting = undefined));
    });
  };
  watch(current);
  return {
    address: current.address,
    namespace: current.namespace,
    ...(current.uiUrl ? { uiUrl: current.uiUrl } : {}),
    owned: true,
    stop: async () => {
      stopped = true;
      await restarting;
      await current.stop();
    },
  };
}

/**
 * The configured server when reachable, otherwise a dev server started here. When neither the CLI
 * nor Go is available, falls back to the SDK's own download (`TestWorkflowEnvironment.createLocal`)
 * and, failing that, stops with a message that names the three ways to provide a server.
 */
export async function obtainTemporalServer(
  options: DevServerOptions & {
    configuredAddress?: string;
    /** Start the dev server again when it dies, after stopping stale ones on its state file (`npm start`). */
    supervise?: boolean;
  },
): Promise<TemporalServer> {
  const namespace = options.namespace ?? 'default';
  if (options.configuredAddress) {
    if (await isTemporalReachable(options.configuredAddress, namespace)) {
      return { address: options.configuredAddress, namespace, owned: false, async stop() {} };
    }
    options.logger.warn({ address: options.configuredAddress }, 'TEMPORAL_ADDRESS is not reachable; starting a dev server instead');
  }
  try {
    if (options.supervise && options.databaseFile && options.port !== undefined) return await startSupervisedDevServer({ ...options, databaseFile: options.databaseFile, port: options.port });
    return await startDevServer(options);
  } catch (error) {
    if (!(error instanceof TemporalCliUnavailableError)) throw error;
    options.logger.warn(error.message);
    options.logger.info('Trying the Temporal SDK download of the CLI (TestWorkflowEnvironment.createLocal)');
    try {
      const { TestWorkflowEnvironment } = await import('@temporalio/testing');
      const testEnvironment = await TestWorkflowEnvironment.createLocal({
        server: {
          namespace,
          searchAttributes: SEARCH_ATTRIBUTE_KEYS,
          ui: !options.headless,
          uiPort: options.uiPort,
          dbFilename: options.databaseFile,
        },
      });
      const address = testEnvironment.address;
      return {
        address,
        namespace,
        owned: true,
        uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort ?? 8233}`,
        stop: () => testEnvironment.teardown(),
      };
    } catch (downloadError) {
      throw new TemporalCliUnavailableError(`${error.message.split('\n')[0]}; the SDK download failed too: ${String(downloadError)}`);
    }
  }
}
