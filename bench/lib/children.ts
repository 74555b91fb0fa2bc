/**
 * Child processes of the bench (scripted LLM, baseline server, workers, API): spawned as
 * `node --import tsx <entry>` so the pid is the Node process itself (what /proc stats and Temporal's
 * `<pid>@<host>` worker identity refer to), output kept in a log file and a small tail for errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** The last 8 KB of output. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  entry: string;
  environment: Record<string, string>;
  logDirectory: string;
  /** Resolves with a value once the output shows the child is ready (e.g. its URL). */
  ready: (output: string) => string | undefined;
  readyTimeoutMs?: number;
  nodeArguments?: string[];
}

export async function spawnNode(options: SpawnOptions): Promise<{ child: Child; ready: string }> {
  const log = createWriteStream(path.join(options.logDirectory, `${options.name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [...(options.nodeArguments ?? []), '--import', 'tsx', options.entry], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...options.environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name} did not start`);
  let output = '';
  const append = (chunk: Buffer) => {
    log.write(chunk);
    output = (output + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    log.end();
    resolve(code);
  }));

  const handle: Child = {
    name: options.name,
    pid: child.pid,
    process: child,
    exited,
    tail: () => output,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const readyValue = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const value = options.ready(output);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${options.name} was not ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      cleanup();
      reject(new Error(`${options.name} exited with ${code} before it was ready:\n${output}`));
    });
    check();
  });
  return { child: handle, ready: readyValue };
}

/** Polls `url` until it answers 200, for children that do not announce readiness on stdout. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with ${child.process.exitCode}:\n${child.tail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.tail()}`);
}
