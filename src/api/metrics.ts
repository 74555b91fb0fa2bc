/** Prometheus metrics of the API process (prom-client), served at `GET /metrics`. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    turnsStarted: new Counter({ name: 'durable_chat_turns_started_total', help: 'Turns started by POST /api/chat', registers: [registry] }),
    sseConnections: new Gauge({ name: 'durable_chat_sse_connections', help: 'Open SSE connections', registers: [registry] }),
    eventsDelivered: new Counter({
      name: 'durable_chat_stream_events_delivered_total',
      help: 'Turn events written to SSE clients, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
