/**
 * Scenario 7, idle connections: RSS of an API process per idle SSE connection, on a fresh API process
 * (and a fresh baseline server) warmed up with a few hundred streams. A few turns are held running by
 * a stalled model stream (`[[fault=stall:1]]`: one delta, then nothing until cancelled);
 * N resume streams (`GET /api/chat/:id/stream`) are opened on them, each counted once its replay has
 * arrived. Per connection = (RSS after − RSS before) / N, RSS as the median of three reads after a
 * settle. The connections are then held for BENCH_IDLE_HOLD_SECONDS (default 16 s, longer than the
 * 15 s SSE keep-alive) to show what idle streams cost in CPU. Baseline: the same N connections on a
 * bare Express SSE endpoint.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { rssBytes, type CpuReport } from '../lib/process-stats';
import type { ScenarioContext, ScenarioResult } from '../lib/scenario';
import { openStream, type OpenStream } from '../lib/sse-client';
import { forEachLimited, resumeStream, sleep, startTurn, stopTurn, waitUntil, type Target, type TurnHandle } from '../lib/turns';

const OPEN_CONCURRENCY = 100;
const WARM_UP_CONNECTIONS = 200;

async function medianRss(pid: number): Promise<number> {
  const reads: number[] = [];
  for (let index = 0; index < 3; index++) {
    reads.push(rssBytes(pid) ?? Number.NaN);
    await sleep(300);
  }
  return reads.sort((left, right) => left - right)[1]!;
}

function openFileLimit(): number {
  try {
    return Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return Number.NaN;
  }
}

/**
 * With BENCH_HEAP_SNAPSHOT=1 (the API then writes a heap snapshot on SIGUSR2): asks for one and
 * waits until the file is written; returns its path (compare two with `bench/heap-diff.ts`).
 */
async function heapSnapshot(pid: number, directory: string): Promise<string | undefined> {
  if (process.env.BENCH_HEAP_SNAPSHOT !== '1') return undefined;
  const snapshots = () => readdirSync(directory).filter((file) => file.endsWith('.heapsnapshot'));
  const known = new Set(snapshots());
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  await waitUntil(() => {
    file ??= snapshots().find((name) => !known.has(name));
    if (!file) return false;
    const now = statSync(path.join(directory, file)).size;
    const settled = now > 0 && now === size;
    size = now;
    return settled;
  }, 120_000, 500);
  return file && path.join(directory, file);
}

/** Opens `count` streams, each counted once its first event arrived; returns the open ones. */
async function openIdle(count: number, open: (index: number, onFirst: () => void) => OpenStream): Promise<{ streams: OpenStream[]; failed: number }> {
  const streams: OpenStream[] = [];
  let failed = 0;
  await forEachLimited(count, OPEN_CONCURRENCY, async (index) => {
    let gotFirst = false;
    const stream = open(index, () => (gotFirst = true));
    const ok = await Promise.race([waitUntil(() => gotFirst, 20_000, 5), stream.done.then(() => false)]);
    if (ok && gotFirst) streams.push(stream);
    else {
      failed += 1;
      stream.abort();
    }
  });
  return { streams, failed };
}

/** Opens and closes a few hundred streams so code paths are compiled and pools exist before the first RSS read. */
async function warmUp(open: (index: number, onFirst: () => void) => OpenStream): Promise<void> {
  const { streams } = await openIdle(WARM_UP_CONNECTIONS, open);
  for (const stream of streams) stream.abort();
  await sleep(1000);
}

export async function runIdleConnections(context: ScenarioContext): Promise<ScenarioResult> {
  const { turns: turnCount, holdSeconds } = context.config.idle;
  const limit = openFileLimit();
  let connections = context.config.idle.connections;
  const notes: string[] = [];
  if (Number.isFinite(limit) && connections + 1000 > limit) {
    connections = Math.max(100, limit - 1000);
    notes.push(`ulimit -n is ${limit}: connections reduced to ${connections}`);
  }
  context.progress(`idle: ${connections} idle SSE connections on ${turnCount} stalled turns (ulimit -n ${limit})`);

  // Fresh processes: an API or baseline server that served the earlier scenarios has free heap that
  // new connections would fill without growing RSS.
  const api = await context.stack.startApi('api-idle');
  const target: Target = { kind: 'ours', url: api.url, apiKey: context.stack.apiKey, workspaceId: context.stack.workspaceId };
  const held: TurnHandle[] = [];
  let ours: { streams: OpenStream[]; failed: number };
  let before: number;
  let after: number;
  let afterHold: number;
  let hold: CpuReport;
  try {
    for (let index = 0; index < turnCount; index++) {
      held.push(startTurn(target, `Hold the line for idle connection test ${index} [[fault=stall:1]]`, { timeoutMs: 600_000 }));
    }
    await waitUntil(() => held.every((turn) => turn.firstDeltaAt !== undefined), 60_000);
    const openOurs = (index: number, onFirst: () => void) => resumeStream(target, held[index % held.length]!.conversationId, undefined, { timeoutMs: 600_000, onEvent: onFirst });
    await warmUp(openOurs);
    before = await medianRss(api.child.pid);
    const beforeSnapshot = await heapSnapshot(api.child.pid, context.stack.logDirectory);
    ours = await openIdle(connections, openOurs);
    await sleep(2000);
    after = await medianRss(api.child.pid);
    const afterSnapshot = await heapSnapshot(api.child.pid, context.stack.logDirectory);
    if (beforeSnapshot && afterSnapshot) notes.push(`heap: npx tsx bench/heap-diff.ts ${beforeSnapshot} ${afterSnapshot} --per ${ours.streams.length}`);
    const meter = context.stack.cpuMeter([{ name: 'api-idle', pids: () => [api.child.pid] }]);
    meter.begin();
    await sleep(holdSeconds * 1000);
    hold = meter.end();
    afterHold = rssBytes(api.child.pid) ?? Number.NaN;
    for (const stream of ours.streams) stream.abort();
    await Promise.all(held.map((turn) => stopTurn(target, turn.conversationId)));
    await Promise.race([Promise.all(held.map((turn) => turn.done)), sleep(20_000)]);
  } finally {
    for (const turn of held) turn.stream.abort();
    await api.child.stop();
  }
  const perConnectionKiB = (after - before) / 1024 / Math.max(1, ours.streams.length);

  context.progress(`idle: ${connections} idle SSE connections (baseline)`);
  const baselineServer = await context.stack.startBaseline('baseline-idle');
  let baseline: { streams: OpenStream[]; failed: number };
  let baselineBefore: number;
  let baselineAfter: number;
  try {
    const openBaseline = (_index: number, onFirst: () => void) => openStream({ url: `${baselineServer.url}/api/idle`, timeoutMs: 600_000, onEvent: onFirst });
    await warmUp(openBaseline);
    baselineBefore = await medianRss(baselineServer.child.pid);
    const beforeSnapshot = await heapSnapshot(baselineServer.child.pid, context.stack.logDirectory);
    baseline = await openIdle(connections, openBaseline);
    await sleep(2000);
    baselineAfter = await medianRss(baselineServer.child.pid);
    const afterSnapshot = await heapSnapshot(baselineServer.child.pid, context.stack.logDirectory);
    if (beforeSnapshot && afterSnapshot) notes.push(`baseline heap: npx tsx bench/heap-diff.ts ${beforeSnapshot} ${afterSnapshot} --per ${baseline.streams.length}`);
    for (const stream of baseline.streams) stream.abort();
  } finally {
    await baselineServer.child.stop();
  }
  const baselinePerConnectionKiB = (baselineAfter - baselineBefore) / 1024 / Math.max(1, baseline.streams.length);

  return {
    rows: [
      { scenario: '7 idle connections', metric: `API RSS KiB per idle SSE connection (${ours.streams.length} open)`, measured: perConnectionKiB, baseline: baselinePerConnectionKiB, target: { comparison: '<=', value: 16 } },
      { scenario: '7 idle connections', metric: `API RSS KiB per connection after holding ${holdSeconds} s`, measured: (afterHold - before) / 1024 / Math.max(1, ours.streams.length) },
      {
        scenario: '7 idle connections',
        metric: `CPU % while idle ${holdSeconds} s: api / temporal / redis`,
        measured: `${hold.processes['api-idle']?.cpuPercent} / ${hold.processes.temporal?.cpuPercent} / ${hold.processes.redis?.cpuPercent}`,
      },
    ],
    details: {
      connections,
      openFileLimit: limit,
      opened: ours.streams.length,
      failed: ours.failed,
      apiRssMiB: { before: before / 1048576, after: after / 1048576, afterHold: afterHold / 1048576 },
      baselineOpened: baseline.streams.length,
      baselineFailed: baseline.failed,
      baselineRssMiB: { before: baselineBefore / 1048576, after: baselineAfter / 1048576 },
      holdSeconds,
      holdCpu: hold,
      notes,
    },
  };
}
