/**
 * Bench knobs, all from the environment, with defaults sized so `npm run bench` stays under
 * 15 minutes on a 2-core machine. `BENCH_QUICK=1` divides the counts for a smoke run.
 */

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function list(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value <= 0)) throw new Error(`${name} must be a comma-separated list of positive integers, got "${raw}"`);
  return values;
}

export const SCENARIOS = ['ttft', 'reconnect', 'history', 'delta', 'start-rate', 'idle', 'crash', 'retrieval'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const WORKER_ROLES = ['all', 'workflows', 'activities'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface BenchConfig {
  quick: boolean;
  /**
   * The product's processes: one worker per entry of `workerRoles` (WORKER_ROLE of each) and `apis`
   * API processes; turns of the delta and crash scenarios are spread over the APIs.
   */
  topology: { workerRoles: WorkerRole[]; apis: number };
  scenarios: ScenarioName[];
  /** Hard bound of the whole run: the watchdog stops everything after this. */
  maxMinutes: number;
  ttft: { turns: number; warmupTurns: number; concurrency: number };
  delta: {
    /** Levels reported by the delta-latency scenario (always run). */
    levels: number[];
    /** Higher levels the capacity search tries while every lower level passes. */
    capacityLevels: number[];
    capacityP99Ms: number;
    /** Extra bisection steps between the last passing and the first failing level. */
    refineSteps: number;
    tokensPerSecond: number;
    windowSeconds: number;
    /** Turns waiting for their first delta at once while ramping up. */
    rampConcurrency: number;
    /** Expected ramp rate (turns/s), only used to size answers so they outlast the ramp and window. */
    rampRateEstimate: number;
  };
  startRate: { rate: number; seconds: number; baselineSeconds: number; historySample: number };
  crash: { kills: number; heartbeatTimeoutMs: number; deltasBeforeKill: number };
  reconnect: { count: number };
  idle: { connections: number; turns: number; holdSeconds: number };
  /** Memories in the workspace at each measurement, and retrievals timed per size. */
  retrieval: { sizes: number[]; latencyQueries: number };
}

export function readBenchConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1';
  const requested = (process.env.BENCH_SCENARIOS ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of requested) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_SCENARIOS: unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
  }
  const scenarios = requested.length > 0 ? SCENARIOS.filter((name) => requested.includes(name)) : [...SCENARIOS];
  const workerRoles = (process.env.BENCH_WORKER_ROLES ?? 'workflows,activities').split(',').map((role) => role.trim()).filter(Boolean);
  for (const role of workerRoles) {
    if (!(WORKER_ROLES as readonly string[]).includes(role)) throw new Error(`BENCH_WORKER_ROLES: unknown role "${role}" (known: ${WORKER_ROLES.join(', ')})`);
  }
  const roles = workerRoles as WorkerRole[];
  if (!roles.some((role) => role !== 'activities') || !roles.some((role) => role !== 'workflows')) throw new Error('BENCH_WORKER_ROLES: some worker must poll workflows and some activities');
  return {
    quick,
    topology: { workerRoles: roles, apis: Math.max(1, Math.floor(number('BENCH_APIS', 2))) },
    scenarios,
    maxMinutes: number('BENCH_MAX_MINUTES', 20),
    ttft: {
      turns: number('BENCH_TTFT_TURNS', quick ? 30 : 200),
      warmupTurns: number('BENCH_TTFT_WARMUP', quick ? 3 : 10),
      concurrency: Math.max(1, number('BENCH_TTFT_CONCURRENCY', 1)),
    },
    delta: {
      levels: list('BENCH_DELTA_LEVELS', quick ? [1, 20, 50] : [1, 100, 200, 400]),
      capacityLevels: list('BENCH_CAPACITY_LEVELS', quick ? [100] : [600]),
      capacityP99Ms: number('BENCH_CAPACITY_P99_MS', 15),
      refineSteps: number('BENCH_CAPACITY_REFINE_STEPS', quick ? 0 : 1),
      tokensPerSecond: number('BENCH_TPS', 50),
      windowSeconds: number('BENCH_WINDOW_SECONDS', quick ? 5 : 10),
      rampConcurrency: Math.max(1, number('BENCH_RAMP_CONCURRENCY', 16)),
      rampRateEstimate: Math.max(1, number('BENCH_RAMP_RATE_ESTIMATE', 20)),
    },
    startRate: {
      rate: number('BENCH_START_RATE', 30),
      seconds: number('BENCH_START_RATE_SECONDS', quick ? 10 : 30),
      baselineSeconds: number('BENCH_START_RATE_BASELINE_SECONDS', quick ? 5 : 10),
      historySample: number('BENCH_START_RATE_HISTORY_SAMPLE', quick ? 10 : 50),
    },
    crash: {
      kills: number('BENCH_CRASH_KILLS', quick ? 3 : 10),
      heartbeatTimeoutMs: number('BENCH_HEARTBEAT_TIMEOUT_MS', 2000),
      deltasBeforeKill: number('BENCH_CRASH_DELTAS_BEFORE_KILL', 10),
    },
    reconnect: { count: number('BENCH_RECONNECTS', quick ? 30 : 100) },
    idle: {
      connections: number('BENCH_IDLE_CONNECTIONS', quick ? 500 : 5000),
      turns: number('BENCH_IDLE_TURNS', 5),
      holdSeconds: number('BENCH_IDLE_HOLD_SECONDS', quick ? 3 : 16),
    },
    retrieval: {
      sizes: list('BENCH_RETRIEVAL_SIZES', quick ? [10_000] : [10_000, 100_000]),
      latencyQueries: number('BENCH_RETRIEVAL_QUERIES', quick ? 60 : 200),
    },
  };
}
