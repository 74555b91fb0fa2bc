/**
 * `npm run bench`: starts the whole stack (see lib/stack.ts), runs the scenarios against the product
 * and against the baseline server in the same run, prints the table to stdout (progress goes to
 * stderr) and writes bench/results/<ISO timestamp>.json plus bench/results/sample.json.
 * Knobs: see bench/README.md and lib/config.ts. A watchdog ends the run after BENCH_MAX_MINUTES.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { readBenchConfig, type ScenarioName } from './lib/config';
import { formatTable, rowsWithVerdicts, writeResults, type Row } from './lib/report';
import type { ScenarioContext, ScenarioResult } from './lib/scenario';
import { startBenchStack, type BenchStack } from './lib/stack';
import { ROOT } from './lib/children';
import { runCrashRecovery } from './scenarios/crash-recovery';
import { runDeltaLatency } from './scenarios/delta-latency';
import { runHistory } from './scenarios/history';
import { runIdleConnections } from './scenarios/idle-connections';
import { runReconnect } from './scenarios/reconnect';
import { runRetrieval } from './scenarios/retrieval';
import { runStartRate } from './scenarios/start-rate';
import { runTtft } from './scenarios/ttft';

/** The commit measured, and whether the working tree differed from it. */
function gitState(): { commit: string; dirty: boolean } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'worker.ts', 'migrations'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

/** The highest `otherPercent` of any CPU report in the details: CPU the machine spent outside the stack. */
function maximumOtherCpu(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let maximum = 0;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'otherPercent' && typeof child === 'number') maximum = Math.max(maximum, child);
    else maximum = Math.max(maximum, maximumOtherCpu(child));
  }
  return maximum;
}

async function run(): Promise<number> {
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
  const git = gitState();
  const config = readBenchConfig();
  const began = performance.now();
  const progress = (message: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
  let stack: BenchStack | undefined;
  let stopping = false;
  const stopStack = async () => {
    if (stopping || !stack) return;
    stopping = true;
    progress('stopping the stack');
    await stack.stop();
  };
  const watchdog = setTimeout(() => {
    progress(`watchdog: the run exceeded BENCH_MAX_MINUTES=${config.maxMinutes}; stopping`);
    void stopStack().finally(() => process.exit(2));
  }, config.maxMinutes * 60_000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopStack().finally(() => process.exit(130)));
  }

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  try {
    stack = await startBenchStack(progress, config.topology);
    const apiKey = stack.apiKey;
    const workspaceId = stack.workspaceId;
    const oursAll = stack.apis.map(({ url }): ScenarioContext['ours'] => ({ kind: 'ours', url, apiKey, workspaceId }));
    const context: ScenarioContext = {
      stack,
      config,
      ours: oursAll[0]!,
      oursAll,
      baseline: { kind: 'baseline', url: stack.baselineUrl },
      progress,
    };
    progress(`stack ready in ${((performance.now() - began) / 1000).toFixed(1)} s: API ${stack.apiUrl}, baseline ${stack.baselineUrl}, Temporal ${stack.temporal.address}`);
    const runners: Record<ScenarioName, () => Promise<Record<string, ScenarioResult>>> = {
      ttft: async () => ({ ttft: await runTtft(context) }),
      reconnect: async () => ({ reconnect: await runReconnect(context) }),
      history: async () => ({ history: await runHistory(context) }),
      delta: async () => {
        const { delta, capacity } = await runDeltaLatency(context);
        return { deltaLatency: delta, capacity };
      },
      'start-rate': async () => ({ startRate: await runStartRate(context) }),
      idle: async () => ({ idleConnections: await runIdleConnections(context) }),
      crash: async () => ({ crashRecovery: await runCrashRecovery(context) }),
      retrieval: async () => ({ retrieval: await runRetrieval(context) }),
    };
    for (const name of config.scenarios) {
      const scenarioStarted = performance.now();
      try {
        for (const [key, result] of Object.entries(await runners[name]())) {
          rows.push(...result.rows);
          details[key] = { ...result.details, seconds: Math.round((performance.now() - scenarioStarted) / 100) / 10 };
        }
      } catch (error) {
        errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
        progress(`scenario ${name} failed: ${errors[name]}`);
        rows.push({ scenario: name, metric: 'FAILED (see JSON errors)', measured: undefined });
      }
      progress(`scenario ${name} done in ${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s`);
    }
  } finally {
    await stopStack();
    clearTimeout(watchdog);
  }

  const wallSeconds = Math.round((performance.now() - began) / 100) / 10;
  const otherCpu = maximumOtherCpu(details);
  const table = formatTable(rows);
  const measured = git ? `commit ${git.commit.slice(0, 7)}${git.dirty ? ' + uncommitted changes in src/' : ''}` : 'commit unknown';
  process.stdout.write(`\n${table}\n\nwall time ${wallSeconds} s${config.quick ? ' (BENCH_QUICK=1)' : ''}, ${measured}\n`);
  if (otherCpu > 25) process.stdout.write(`warning: processes outside the stack used up to ${otherCpu}% of a core during a measurement ("other" in the CPU rows): those figures are pessimistic\n`);
  const file = writeResults(path.join(ROOT, 'bench/results'), startedAt, {
    startedAt: startedAt.toISOString(),
    wallSeconds,
    git,
    machine: { cpus: os.cpus().length, loadAverageAtStart: loadAverageAtStart, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, redis: stack?.redisVersion },
    config,
    rows: rowsWithVerdicts(rows),
    details,
    errors,
    maximumOtherCpuPercent: otherCpu,
    logs: stack ? path.relative(ROOT, stack.logDirectory) : undefined,
  });
  process.stderr.write(`results: ${path.relative(ROOT, file)} (and bench/results/sample.json)\n`);
  return Object.keys(errors).length > 0 ? 1 : 0;
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
