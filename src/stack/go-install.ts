/**
 * Finding executables and building the Go-based servers the stack runs locally (the Temporal CLI dev
 * server, the S3-compatible test server) once into a cache outside the repository with `go install`.
 * The module proxy is the only download source these machines have, so a pinned module version that
 * `go install` accepts (no `replace` directive in its go.mod) is the one reliable way to get a binary.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(command: string, environment: NodeJS.ProcessEnv): string | undefined {
  for (const directory of (environment.PATH ?? '').split(path.delimiter)) {
    if (!directory) continue;
    const candidate = path.join(directory, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The cache root of built binaries: `DURABLE_CHAT_CACHE_DIR`, else `~/.cache/durable-chat`; never inside the repository. */
export function cacheRootDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  return environment.DURABLE_CHAT_CACHE_DIR ?? path.join(environment.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'durable-chat');
}

/** Raised when Go is missing or `go install` fails; the message says which. */
export class GoInstallError extends Error {}

export interface GoInstallOptions {
  /** The package path with a main package, e.g. `github.com/temporalio/cli/cmd/temporal`. */
  modulePath: string;
  version: string;
  /** Name of the binary `go install` writes (the last element of the package path). */
  binaryName: string;
  /** Directory that receives the binary (`GOBIN`). */
  directory: string;
  /** What is being built, for progress lines ("the Temporal CLI"). */
  label: string;
  logger: Logger;
  environment?: NodeJS.ProcessEnv;
}

/**
 * Builds a binary once with `go install <module>@<version>` into `directory`, printing progress
 * (elapsed time and the last package go reports) every 10 s because a cold build can take minutes.
 */
export async function goInstall(options: GoInstallOptions): Promise<string> {
  const environment = options.environment ?? process.env;
  const goBinary = findOnPath('go', environment) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!goBinary) throw new GoInstallError('Go is not installed');
  mkdirSync(options.directory, { recursive: true });
  const started = Date.now();
  const target = `${options.modulePath}@${options.version}`;
  options.logger.info({ directory: options.directory }, `Building ${options.label} with go install ${target} (once)`);
  const child = spawn(goBinary, ['install', '-v', target], {
    env: { ...environment, GOBIN: options.directory, GOFLAGS: environment.GOFLAGS ?? '-mod=mod' },
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
    process.stderr.write(`  … building ${options.label}: ${seconds}s, ${linesSeen} steps, last: ${lastLine.slice(0, 100)}\n`);
  }, 10_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(progress);
  const binary = path.join(options.directory, options.binaryName);
  if (exitCode !== 0 || !isExecutable(binary)) throw new GoInstallError(`go install ${target} exited with ${exitCode}; last output: ${lastLine}`);
  options.logger.info({ binary, seconds: Math.round((Date.now() - started) / 1000) }, `Built ${options.label}`);
  return binary;
}
