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

/** Waits (bounded) until no turn workflow runs, so one scenario's tail does not load the next. */
export async function waitForQuiet(context: ScenarioContext, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let running = 0;
  while (Date.now() < deadline) {
    running = await context.stack.temporalClient.workflow
      .count('ExecutionStatus = "Running"')
      .then((result) => result.count)
      .catch(() => 0);
    if (running === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return running;
}
