/**
 * Finds, builds or downloads the Temporal CLI, whose `server start-dev` is the Temporal server used by
 * `npm start` and `npm test` when no reachable `TEMPORAL_ADDRESS` is configured.
 *
 * Order: `TEMPORAL_CLI_PATH`, `temporal` on PATH, the cache outside the repository, then a one-time
 * `go install` of the pinned CLI module into that cache. v1.5.1 is pinned because later tags carry a
 * `replace` directive that `go install` refuses.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** The cache folder for the built CLI: outside the repository, reused across clones and runs. */
export function temporalCacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const base = environment.DURABLE_CHAT_CACHE_DIR ?? path.join(environment.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'durable-chat');
  return path.join(base, `temporal-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(command: string, environment: NodeJS.ProcessEnv): string | undefined {
  for (const directory of (environment.PATH ?? '').split(path.delimiter)) {
    if (!directory) continue;
    const candidate = path.join(directory, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export class TemporalCliUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `No Temporal CLI binary could be found or built (${detail}).\n` +
        'Provide one of:\n' +
        '  1. TEMPORAL_ADDRESS pointing at a running Temporal server (e.g. `docker compose up -d temporal`),\n' +
        '  2. TEMPORAL_CLI_PATH pointing at a `temporal` binary, or `temporal` on PATH,\n' +
        `  3. Go on PATH with access to the module proxy, so that \`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}\` can build it.`,
    );
  }
}

/** Returns the path of an existing CLI binary without building anything, or undefined. */
export function locateTemporalCli(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = environment.TEMPORAL_CLI_PATH;
  if (configured) {
    if (!isExecutable(configured)) throw new TemporalCliUnavailableError(`TEMPORAL_CLI_PATH=${configured} is not an executable file`);
    return configured;
  }
  const onPath = findOnPath('temporal', environment);
  if (onPath) return onPath;
  const cached = path.join(temporalCacheDirectory(environment), 'temporal');
  return isExecutable(cached) ? cached : undefined;
}

/**
 * Builds the CLI once with `go install` into the cache. Prints progress (elapsed time and the
 * packages go reports) because a cold build takes minutes.
 */
export async function buildTemporalCli(logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  const goBinary = findOnPath('go', environment) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!goBinary) throw new TemporalCliUnavailableError('Go is not installed');
  const directory = temporalCacheDirectory(environment);
  mkdirSync(directory, { recursive: true });
  const started = Date.now();
  logger.info({ directory }, `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (once; a cold build takes a few minutes)`);
  const child = spawn(goBinary, ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...environment, GOBIN: directory, GOFLAGS: environment.GOFLAGS ?? '-mod=mod' },
    cwd: os.tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lastLine = '';
  let linesSeen = 0;
  const onOutput = (chunk: Buffer) => {
    const lines = chunk.toString().split('\n').filter(Boolean);
    linesSeen += lines.length;
    lastLine = lines.at(-1) ?? lastLine;
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const progress = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    process.stderr.write(`  … building the Temporal CLI: ${seconds}s, ${linesSeen} steps, last: ${lastLine.slice(0, 100)}\n`);
  }, 10_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(progress);
  const binary = path.join(directory, 'temporal');
  if (exitCode !== 0 || !isExecutable(binary)) {
    throw new TemporalCliUnavailableError(`go install exited with ${exitCode}; last output: ${lastLine}`);
  }
  logger.info({ binary, seconds: Math.round((Date.now() - started) / 1000) }, 'Built the Temporal CLI');
  return binary;
}

/** Returns a usable CLI binary, building it if needed; undefined only when no build is possible. */
export async function ensureTemporalCli(logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  const existing = locateTemporalCli(environment);
  if (existing) return existing;
  return buildTemporalCli(logger, environment);
}
