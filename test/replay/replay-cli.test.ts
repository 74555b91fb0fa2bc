/**
 * `npm run replay -- --file` as an operator runs it: a recorded turn replays with `OK` and exit 0; a
 * history the current code contradicts exits 1 and names the event. The contradicting history is a
 * recorded one whose first `recordToolResults` is renamed, as if an older workflow had called an
 * activity that the current code no longer calls.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const THREE_HOP_TOOLS = path.join(__dirname, 'histories/three-hop-tools.json');

async function replayCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/replay.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

let directory: string;

beforeAll(() => {
  directory = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-replay-cli-'));
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

it('replays a saved history and says OK', async () => {
  const events = (JSON.parse(readFileSync(THREE_HOP_TOOLS, 'utf8')) as { events: unknown[] }).events.length;
  const result = await replayCli('--file', THREE_HOP_TOOLS);
  expect(result).toMatchObject({ code: 0, stdout: `OK three-hop-tools: replayed ${events} events\n` });
});

it('exits 1 and names the history event the current code contradicts', async () => {
  const history = JSON.parse(readFileSync(THREE_HOP_TOOLS, 'utf8')) as { events: Array<{ eventId: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }> };
  const renamed = history.events.find((event) => event.activityTaskScheduledEventAttributes?.activityType.name === 'executeTool')!;
  renamed.activityTaskScheduledEventAttributes!.activityType.name = 'runTool';
  const file = path.join(directory, 'older-tool-turn.json');
  writeFileSync(file, JSON.stringify(history));

  const result = await replayCli('--file', file, 'chat:older:turn');
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('FAILED chat:older:turn');
  expect(result.stderr).toContain(`Diverged at history event #${renamed.eventId} ActivityTaskScheduled (runTool)`);
  expect(result.stderr).toContain('DeterminismViolationError');
});

it('exits 2 with the usage when there is nothing to replay', async () => {
  const result = await replayCli();
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('Usage: npm run replay');
});
