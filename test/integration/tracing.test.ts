/**
 * OpenTelemetry traces as an operator sees them in a tracing backend: with OTEL_EXPORTER_OTLP_ENDPOINT
 * set, the API and the worker (real processes, as deployed) export over OTLP/HTTP, and one chat turn
 * is one trace: the API's `POST /api/chat`, the workflow start and run, its activities, and their
 * Postgres statements and Redis calls. The receiving end is a plain HTTP server that keeps what it is sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Pool } from 'pg';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { freePort } from '../../src/stack/temporal-server';
import { readSse, textOf, chunksOf, userMessage } from '../support/sse';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

const spans: ExportedSpan[] = [];
let collector: http.Server;
let collectorUrl: string;
let llm: ScriptedLlm;
let worker: WorkerProcess | undefined;
let api: ChildProcess | undefined;
let apiUrl: string;
let apiKey: string;
let pool: Pool;

/** Keeps the spans of OTLP/HTTP JSON export requests. */
function startCollector(): Promise<void> {
  collector = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans?: Array<{ spans?: Array<Omit<ExportedSpan, 'service'>> }> }> };
        for (const resourceSpans of payload.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value.stringValue ?? '?';
          for (const scope of resourceSpans.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ traceId: span.traceId, spanId: span.spanId, ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}), name: span.name, service });
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => collector.listen(0, '127.0.0.1', () => {
    collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
    resolve();
  }));
}

beforeAll(async () => {
  await startCollector();
  llm = await startScriptedLlm();
  const unique = randomUUID().slice(0, 8);
  const environment = {
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `dc-trace-${unique}:`,
    TEMPORAL_TASK_QUEUE: `trace-${unique}`,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: 'scripted-test-key',
    OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
  };
  pool = new Pool({ connectionString: environment.DATABASE_URL });
  const workspaceId = `ws-trace-${unique}`;
  apiKey = generateApiKey();
  await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: 'Tracing', userId: `${workspaceId}-user`, userName: 'Tracer', apiKey });
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, ...environment, PORT: String(port), LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  worker = await startWorkerProcess(environment, { readyTimeoutMs: 240_000 });
  for (let attempt = 0; ; attempt++) {
    const ready = await fetch(`${apiUrl}/healthz`).then((response) => response.ok, () => false);
    if (ready) break;
    if (attempt > 600) throw new Error('the API process did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 300_000);

afterAll(async () => {
  worker?.kill('SIGTERM');
  await worker?.exited;
  if (api && api.exitCode === null) {
    const exited = new Promise((resolve) => api!.once('exit', resolve));
    api.kill('SIGTERM');
    await exited;
  }
  await llm?.close();
  await pool?.end();
  collector?.closeAllConnections();
  await new Promise((resolve) => collector?.close(resolve));
}, 60_000);

it('exports one trace per turn across the API, the workflow and its activities, with their Postgres and Redis calls', async () => {
  const chatId = `trace-${randomUUID()}`;
  const response = await fetch(`${apiUrl}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Trace this turn')] }),
  });
  expect(response.status).toBe(200);
  expect(textOf(chunksOf(await readSse(response)))).toContain('Trace this turn');

  // The API's root span for this request, then everything in its trace.
  const deadline = Date.now() + 60_000;
  let trace: ExportedSpan[] = [];
  for (;;) {
    const root = spans.find((span) => span.service === 'durable-chat-api' && !span.parentSpanId && /POST/.test(span.name) && spans.some((other) => other.traceId === span.traceId && other.name.startsWith('StartWorkflow:chatTurn')));
    trace = root ? spans.filter((span) => span.traceId === root.traceId) : [];
    // Spans arrive as each part ends: wait for every worker span asserted below (the workflow's ends last).
    const complete = ['RunWorkflow:chatTurn', 'RunActivity:streamCompletion', 'RunActivity:beginTurn'].every((name) =>
      trace.some((span) => span.service === 'durable-chat-worker' && span.name.startsWith(name)),
    );
    if (complete || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (process.env.TRACE_DEBUG) console.log(JSON.stringify(trace.map((span) => `${span.service} ${span.name}`), null, 1));
  const names = (service: string) => [...new Set(trace.filter((span) => span.service === service).map((span) => span.name))];
  expect(names('durable-chat-api')).toEqual(expect.arrayContaining([expect.stringMatching(/^POST/), 'StartWorkflow:chatTurn']));
  const workerSpans = names('durable-chat-worker');
  expect(workerSpans).toEqual(expect.arrayContaining(['RunWorkflow:chatTurn', expect.stringMatching(/^RunActivity:streamCompletion/), expect.stringMatching(/^RunActivity:beginTurn/)]));
  // The activities' own Postgres statements and Redis calls are in the same trace, under their activity.
  expect(workerSpans.some((name) => /^pg\.query/.test(name))).toBe(true);
  expect(workerSpans).toContain('redis appendTurnEvents');
  const parentOf = (span: ExportedSpan) => trace.find((other) => other.spanId === span.parentSpanId)?.name ?? '';
  const appendParents = trace.filter((span) => span.service === 'durable-chat-worker' && span.name === 'redis appendTurnEvents').map(parentOf);
  expect(appendParents).toContain('RunActivity:streamCompletion');
  // Every span but the root has its parent in the trace: one tree, not pieces.
  const ids = new Set(trace.map((span) => span.spanId));
  expect(trace.filter((span) => span.parentSpanId && !ids.has(span.parentSpanId)).map((span) => span.name)).toEqual([]);
}, 120_000);
