/**
 * Whether this process traces, readable without loading the OpenTelemetry SDK (src/telemetry/tracing.ts
 * sets it when it starts tracing).
 */
import type { Tracing } from './tracing';

let active: Tracing | undefined;

/** The tracing this process started, if any. */
export function activeTracing(): Tracing | undefined {
  return active;
}

export function setActiveTracing(tracing: Tracing): void {
  active = tracing;
}
