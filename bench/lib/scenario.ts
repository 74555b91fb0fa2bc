/** What every scenario gets and returns. */
import type { BenchConfig } from './config';
import type { Row } from './report';
import type { BenchStack } from './stack';
import type { Target } from './turns';

export interface ScenarioContext {
  stack: BenchStack;
  config: BenchConfig;
  ours: Target;
  /** One target per API process (BENCH_APIS); `ours` is the first. */
  oursAll: Target[];
  baseline: Target;
  progress(message: string): void;
}

export interface ScenarioResult {
  rows: Row[];
  details: Record<string, unknown>;
}

/** Waits (bounded) until no turn workflow runs, so one scenario's tail does not load the next; returns how many still run. */
export async function waitForQuiet(context: ScenarioContext, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let running = 0;
  while (Date.now() < deadline) {
    running = await context.stack.temporalClient.workflow
      // Turns only: the workspace's MCP catalogue refresh runs for as long as the workspace exists.
      .count('WorkflowType = "chatTurn" AND ExecutionStatus = "Running"')
      .then((result) => result.count)
      .catch(() => 0);
    if (running === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return running;
}

/**
 * Samples the product database's active statements every `intervalMs` until `stop()`: which
 * statements were running (normalised to their first 100 characters) and how often each was seen,
 * most frequent first. A level whose Postgres CPU is high names its queries with this.
 */
export function samplePostgresActivity(context: ScenarioContext, intervalMs = 500): { stop(): Promise<Array<{ query: string; seen: number; waits: string[] }>> } {
  const seen = new Map<string, { seen: number; waits: Set<string> }>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const result = await context.stack.pool
        .query<{ query: string; wait: string | null }>(
          `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query, wait_event_type || ':' || wait_event AS wait
             FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
        )
        .catch(() => undefined);
      for (const row of result?.rows ?? []) {
        const entry = seen.get(row.query) ?? { seen: 0, waits: new Set<string>() };
        entry.seen += 1;
        if (row.wait) entry.waits.add(row.wait);
        seen.set(row.query, entry);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen].map(([query, entry]) => ({ query, seen: entry.seen, waits: [...entry.waits] })).sort((left, right) => right.seen - left.seen);
    },
  };
}
