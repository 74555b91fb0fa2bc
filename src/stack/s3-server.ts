/**
 * A real S3-compatible server on this machine for the tests of the S3 object store, obtained the
 * way the Temporal dev server is: a configured endpoint when it answers, otherwise gofakes3 started
 * here on a free port (binary from `S3_SERVER_PATH`, `gofakes3` on PATH, the cache outside the
 * repository, or built once with `go install`).
 *
 * Why gofakes3 v1.2.0: it speaks the S3 REST API the AWS SDK uses (path-style and virtual-host
 * buckets, PUT/GET/HEAD/DELETE with content types and metadata, multipart, ListObjectsV2, error
 * codes such as NoSuchKey and NoSuchBucket), is served by the Go module proxy with no `replace`
 * directive, and builds with `go install` in under a minute. SeaweedFS is more faithful still but
 * its go.mod needs a wrapper module and the build is large; s3rver (npm) is unmaintained since 2021.
 */
import path from 'node:path';
import type { Logger } from '../logger';
import { spawnGuarded, stopGuardedProcess } from './child-process';
import { cacheRootDirectory, findOnPath, goInstall, isExecutable } from './go-install';
import { freePort } from './temporal-server';

export const S3_SERVER_MODULE = 'github.com/johannesboyne/gofakes3/cmd/gofakes3';
export const S3_SERVER_VERSION = 'v1.2.0';

export interface LocalS3Server {
  /** `http://127.0.0.1:<port>`: use with path-style addressing. */
  endpoint: string;
  /** True when this process started the server (and `stop` ends it). */
  owned: boolean;
  stop(): Promise<void>;
}

export function s3ServerCacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRootDirectory(environment), `gofakes3-${S3_SERVER_VERSION}`);
}

/** An existing gofakes3 binary, or undefined; `S3_SERVER_PATH` must name an executable when set. */
export function locateS3Server(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = environment.S3_SERVER_PATH;
  if (configured) {
    if (!isExecutable(configured)) throw new Error(`S3_SERVER_PATH=${configured} is not an executable file`);
    return configured;
  }
  const cached = path.join(s3ServerCacheDirectory(environment), 'gofakes3');
  return findOnPath('gofakes3', environment) ?? (isExecutable(cached) ? cached : undefined);
}

/** The gofakes3 binary, built once into the cache when none exists (about 45 s cold on 2 cores). */
export async function ensureS3Server(logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (
    locateS3Server(environment) ??
    goInstall({
      modulePath: S3_SERVER_MODULE,
      version: S3_SERVER_VERSION,
      binaryName: 'gofakes3',
      directory: s3ServerCacheDirectory(environment),
      label: `the S3-compatible test server (gofakes3 ${S3_SERVER_VERSION})`,
      logger,
      environment,
    })
  );
}

/** True when something answers S3's ListBuckets (`GET /`) at the endpoint. */
export async function isS3Reachable(endpoint: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

/** Starts gofakes3 with its in-memory backend on a free loopback port and waits until it answers. */
export async function startLocalS3Server(options: { logger: Logger; port?: number; environment?: NodeJS.ProcessEnv }): Promise<LocalS3Server> {
  const environment = options.environment ?? process.env;
  const binary = await ensureS3Server(options.logger, environment);
  const port = options.port ?? (await freePort());
  const child = spawnGuarded('gofakes3', binary, ['-backend', 'memory', '-host', `127.0.0.1:${port}`, '-quiet'], environment);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  while (!(await isS3Reachable(endpoint, 500))) {
    if (child.exitCode !== null || Date.now() - started > 20_000) {
      await stopGuardedProcess(child);
      throw new Error(`The S3-compatible test server did not start at ${endpoint}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  options.logger.info({ endpoint, pid: child.pid }, 'S3-compatible test server started');
  return {
    endpoint,
    owned: true,
    stop: () => stopGuardedProcess(child),
  };
}

/** The configured endpoint when it answers, otherwise a gofakes3 started here. */
export async function obtainS3Server(options: { configuredEndpoint?: string; logger: Logger; environment?: NodeJS.ProcessEnv }): Promise<LocalS3Server> {
  if (options.configuredEndpoint) {
    if (await isS3Reachable(options.configuredEndpoint)) return { endpoint: options.configuredEndpoint, owned: false, async stop() {} };
    options.logger.warn({ endpoint: options.configuredEndpoint }, 'The configured S3 endpoint does not answer; starting a local one instead');
  }
  return startLocalS3Server(options);
}
