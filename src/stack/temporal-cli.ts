/**
 * Finds, builds or downloads the Temporal CLI, whose `server start-dev` is the Temporal server used by
 * `npm start` and `npm test` when no reachable `TEMPORAL_ADDRESS` is configured.
 *
 * Order: `TEMPORAL_CLI_PATH`, `temporal` on PATH, the cache outside the repository, then a one-time
 * `go install` of the pinned CLI module into that cache. v1.5.1 is pinned because later tags carry a
 * `replace` directive that `go install` refuses.
 */
import path from 'node:path';
import type { Logger } from '../logger';
import { cacheRootDirectory, findOnPath, goInstall, GoInstallError, isExecutable } from './go-install';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** The cache folder for the built CLI: outside the repository, reused across clones and runs. */
export function temporalCacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRootDirectory(environment), `temporal-${TEMPORAL_CLI_VERSION}`);
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

/** Builds the CLI once with `go install` into the cache (a cold build takes minutes; progress is printed). */
export async function buildTemporalCli(logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return await goInstall({
      modulePath: TEMPORAL_CLI_MODULE,
      version: TEMPORAL_CLI_VERSION,
      binaryName: 'temporal',
      directory: temporalCacheDirectory(environment),
      label: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
      logger,
      environment,
    });
  } catch (error) {
    if (error instanceof GoInstallError) throw new TemporalCliUnavailableError(error.message);
    throw error;
  }
}

/** Returns a usable CLI binary, building it if needed; undefined only when no build is possible. */
export async function ensureTemporalCli(logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  const existing = locateTemporalCli(environment);
  if (existing) return existing;
  return buildTemporalCli(logger, environment);
}
