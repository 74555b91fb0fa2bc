/**
 * What the Temporal server did, from its own Prometheus counters (the dev server's `--metrics-port`):
 * two scrapes around a scenario, divided by the turns it ran, say how many workflow tasks, activity
 * tasks, RPCs between its services and persistence requests one turn costs the server.
 */

/** Counter sums keyed by `metric|label values`, for the counters below. */
type Counters = Map<string, number>;

const COUNTED: Record<string, string[]> = {
  service_requests: ['service_name', 'operation'],
  persistence_requests: ['operation'],
  task_requests: ['operation'],
};

export async function scrapeTemporalCounters(metricsUrl: string): Promise<Counters | undefined> {
  const response = await fetch(metricsUrl).catch(() => undefined);
  if (!response?.ok) return undefined;
  const counters: Counters = new Map();
  for (const line of (await response.text()).split('\n')) {
    const match = /^(\w+)\{([^}]*)\}\s+(\S+)$/.exec(line);
    const keys = match ? COUNTED[match[1]!] : undefined;
    if (!match || !keys) continue;
    const labels = new Map([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1]!, label[2]!]));
    const key = `${match[1]}|${keys.map((name) => labels.get(name) ?? '').join('/')}`;
    counters.set(key, (counters.get(key) ?? 0) + Number(match[3]));
  }
  return counters;
}

export interface TemporalWorkPerTurn {
  turns: number;
  workflowTasks: number;
  activityTasks: number;
  /** Requests between the server's own services (frontend, history, matching). */
  serviceRequests: number;
  persistenceRequests: number;
  executionUpdates: number;
  /** History's internal tasks: transfer, timer and visibility. */
  internalTasks: number;
  /** The ten most frequent persistence operations, per turn. */
  topPersistence: Record<string, number>;
}

export function temporalWorkPerTurn(before: Counters, after: Counters, turns: number): TemporalWorkPerTurn {
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const perTurn = (value: number) => Math.round((value / Math.max(1, turns)) * 100) / 100;
  const sum = (metric: string) => [...after.keys()].filter((key) => key.startsWith(`${metric}|`)).reduce((total, key) => total + delta(key), 0);
  const persistence = [...after.keys()]
    .filter((key) => key.startsWith('persistence_requests|'))
    .map((key) => [key.slice('persistence_requests|'.length), perTurn(delta(key))] as const)
    .filter(([, value]) => value > 0)
    .sort((left, right) => right[1] - left[1])
    .slice(0, 10);
  return {
    turns,
    workflowTasks: perTurn(delta('service_requests|history/RespondWorkflowTaskCompleted')),
    activityTasks: perTurn(delta('service_requests|history/RespondActivityTaskCompleted') + delta('service_requests|history/RespondActivityTaskFailed')),
    serviceRequests: perTurn(sum('service_requests')),
    persistenceRequests: perTurn(sum('persistence_requests')),
    executionUpdates: perTurn(delta('persistence_requests|UpdateWorkflowExecution')),
    internalTasks: perTurn(sum('task_requests')),
    topPersistence: Object.fromEntries(persistence),
  };
}
