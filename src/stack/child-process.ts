/** Stopping the servers the stack starts as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The guardian around a server binary: it runs the server in the background and waits on its own
 * stdin, a pipe from this Node process. When this process ends in any way (even `kill -9`), the
 * pipe closes and the guardian stops the server (SIGTERM, SIGKILL 10 s later), so no server is left
 * orphaned holding its port and its state file. The server's exit status is the guardian's.
 */
const GUARDIAN_SCRIPT = [
  // A background list reads /dev/null unless told otherwise: the pipe is kept on fd 3 for the watcher.
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'server=$!',
  '{ while read -r _ <&3; do :; done; kill -TERM "$server" 2>/dev/null; sleep 10; kill -KILL "$server" 2>/dev/null; } &',
  'guard=$!',
  'wait "$server"',
  'status=$?',
  'kill "$guard" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** Spawns `binary args` under the guardian; stop it with {@link stopGuardedProcess}. */
export function spawnGuarded(name: string, binary: string, args: readonly string[], environment: NodeJS.ProcessEnv): ChildProcess {
  return spawn('/bin/sh', ['-c', GUARDIAN_SCRIPT, name, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: environment });
}

/** Closes the guardian's pipe (it stops the server) and resolves once both have exited. */
export async function stopGuardedProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
