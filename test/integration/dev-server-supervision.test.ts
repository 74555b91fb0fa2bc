/**
 * The Temporal dev server that `npm start` runs, as an operator meets it: it is started again when
 * it dies (state kept in its file), it does not outlive a process killed with `kill -9`, and a stale
 * one left on the state file is stopped rather than adopted; a port taken under it is retried.
 */
import { eventually } from '../support/eventually';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { createLogger } from '../../src/logger';
import { locateTemporalCli } from '../../src/stack/temporal-cli';
import { devServerProcesses, freePort, isTemporalReachable, startDevServer, startSupervisedDevServer, type TemporalServer } from '../../src/stack/temporal-server';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'dev-server-supervision-test');
let directory: string;

beforeAll(() => {
  directory = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-supervision-'));
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

it('starts the dev server again after it died, on the same port with its state', async () => {
  const databaseFile = path.join(directory, 'restart.sqlite');
  const port = await freePort();
  const server: TemporalServer = await startSupervisedDevServer({ databaseFile, port, headless: true, logger });
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const workflowId = `remembered-${Date.now()}`;
    // A workflow nobody runs: it waits in the server's state, and must still be there after the restart.
    await client.workflow.start('nobodyRunsThis', { taskQueue: 'no-worker', workflowId });
    await connection.close();

    const [pid] = devServerProcesses(databaseFile);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await eventually('the server to be gone', () => (devServerProcesses(databaseFile).includes(pid!) ? undefined : true), 60_000);
    const restarted = await eventually('a new server process', () => devServerProcesses(databaseFile).find((other) => other !== pid), 60_000);
    expect(restarted).not.toBe(pid);
    await eventually('the server to answer again', async () => ((await isTemporalReachable(server.address, 'default', 1000)) ? true : undefined), 60_000);

    const again = await Connection.connect({ address: server.address });
    const description = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    await again.close();
  } finally {
    await server.stop();
  }
  expect(devServerProcesses(databaseFile)).toEqual([]);
}, 180_000);

it('leaves no dev server behind when the process that started it is killed with kill -9', async () => {
  const databaseFile = path.join(directory, 'orphan.sqlite');
  const port = await freePort();
  // A separate Node process starts the server, as `npm start` does, then is killed without a chance to clean up.
  const script = `
    const { startSupervisedDevServer } = require('./src/stack/temporal-server');
    const { createLogger } = require('./src/logger');
    startSupervisedDevServer({ databaseFile: ${JSON.stringify(databaseFile)}, port: ${port}, headless: true, logger: createLogger('warn', 'parent') })
      .then(() => console.log('ready'), (error) => { console.error(error); process.exit(1); });
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    parent.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    parent.once('exit', (code) => reject(new Error(`the parent exited with ${code} before the server was ready`)));
  });
  const [server] = devServerProcesses(databaseFile);
  expect(server).toBeGreaterThan(0);
  parent.kill('SIGKILL');
  await eventually('the orphaned server to stop', () => (devServerProcesses(databaseFile).length === 0 ? true : undefined), 30_000);
  expect(await isTemporalReachable(`127.0.0.1:${port}`, 'default', 1000)).toBe(false);
}, 180_000);

it('stops a stale dev server on the same state file instead of adopting it', async () => {
  const databaseFile = path.join(directory, 'stale.sqlite');
  const port = await freePort();
  const binary = locateTemporalCli();
  expect(binary).toBeDefined();
  // A server left by an earlier run: started on its own, not supervised by anyone in this process.
  const stale = spawn(binary!, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--http-port', String(await freePort()), '--metrics-port', String(await freePort()), '--db-filename', databaseFile, '--log-level', 'error'], { stdio: 'ignore', detached: true });
  try {
    await eventually('the stale server', async () => ((await isTemporalReachable(`127.0.0.1:${port}`, 'default', 1000)) ? true : undefined), 60_000);
    const server = await startSupervisedDevServer({ databaseFile, port, headless: true, logger });
    try {
      await eventually('the stale server to exit', () => (stale.exitCode !== null || stale.signalCode !== null ? true : undefined), 10_000);
      const running = devServerProcesses(databaseFile);
      expect(running).toHaveLength(1);
      expect(running).not.toContain(stale.pid);
      expect(await isTemporalReachable(server.address, 'default', 1000)).toBe(true);
    } finally {
      await server.stop();
    }
  } finally {
    if (stale.exitCode === null && stale.signalCode === null) stale.kill('SIGKILL');
  }
}, 180_000);

it('a port taken before the dev server binds it makes it start again, and a port that stays taken fails with the reason', async () => {
  // The frontend port is held by another listener for the whole test: every attempt meets it.
  const holder = net.createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = (holder.address() as net.AddressInfo).port;
  const warnings: string[] = [];
  const watching = createLogger('warn', 'dev-server-port-test');
  const counting = Object.assign(Object.create(watching), {
    warn: (fields: unknown, message?: string) => {
      warnings.push(message ?? String(fields));
    },
  }) as typeof watching;
  try {
    await expect(startDevServer({ port, headless: true, logger: counting })).rejects.toThrow('address already in use');
    expect(warnings.filter((message) => message.includes('starting it on new ports'))).toHaveLength(2);
  } finally {
    holder.close();
  }
});
