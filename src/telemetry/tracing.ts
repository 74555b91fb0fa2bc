/**
 * OpenTelemetry traces, exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and off otherwise (nothing is loaded or patched).
 *
 * One trace per turn: the API's HTTP span (`POST /api/chat`) is the root; the Temporal client
 * interceptor carries its context into the workflow's headers, the workflow interceptors (bundled
 * with the workflows when tracing is on) into each activity's, and the activities' Postgres
 * statements are child spans, so a turn reads as one tree across the API, the workflow and the
 * activities. Instrumentation patches modules as they are required: the process entry points import
 * `./register` before anything else.
 *
 * Redis: the ioredis instrumentation of the OpenTelemetry 1.x generation (the one
 * `@temporalio/interceptors-opentelemetry` 1.24 builds its spans with) supports ioredis < 6 only, and
 * the later one does not load next to it; the turn log's calls make their own spans
 * (src/stream/event-log.ts).
 */
import { activeTracing, setActiveTracing } from './active';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Resource } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Where traces go: the traces endpoint, or `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`; undefined: tracing off. */
export function tracesEndpoint(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = environment.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = environment.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/** Starts tracing for this process once (the first service name wins); undefined when it is off. */
export function startTracing(serviceName: string, environment: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const running = activeTracing();
  if (running) return running;
  const url = tracesEndpoint(environment);
  if (!url || environment.OTEL_SDK_DISABLED === 'true') return undefined;
  const resource = new Resource({ 'service.name': environment.OTEL_SERVICE_NAME ?? serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Health probes and the SSE keep-alives would drown the turns.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? '') }),
      new ExpressInstrumentation(),
      new PgInstrumentation(),
    ],
  });
  const tracing: Tracing = { resource, spanProcessor, shutdown: () => provider.shutdown() };
  setActiveTracing(tracing);
  return tracing;
}

export { activeTracing } from './active';
