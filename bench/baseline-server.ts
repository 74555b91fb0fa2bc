/**
 * The baseline every bench figure is compared with: the same scripted LLM answer streamed straight
 * to SSE with the `openai` client, no Temporal and no Redis. It emits the same UI message stream
 * chunks as the product (the product's own encoder and SSE framing), and on every delta an SSE `id:`
 * shaped like a Redis stream entry id (`<epoch ms>-<seq>`) taken when the event is written, so the
 * bench measures both servers with the same clock and the same 1 ms truncation.
 *
 * Routes:
 * - `POST /api/chat`: the body `DefaultChatTransport` sends; streams the answer to the last user text.
 * - `GET /api/ping-stream`: one event, then the end (the floor of a reconnect).
 * - `GET /api/idle`: one event, then nothing until the client leaves (the floor of an idle stream).
 *
 * Run as a child of bench/run.ts: `BASELINE_PORT` (0 = free port), `OPENAI_BASE_URL`, `OPENAI_API_KEY`;
 * prints `baseline listening at <url>` once it listens.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import type OpenAI from 'openai';
import { z } from 'zod';
import { UI_MESSAGE_STREAM_HEADERS, UiMessageStreamEncoder, type UiMessageChunk } from '../src/api/sse/ui-message-stream';
import { createOpenAiClient } from '../src/clients';
import { finishReasonOf } from '../src/llm/finish-reason';
import type { FinishReason } from '../src/shared/stream-events';

const chatBodySchema = z.looseObject({
  id: z.string(),
  messages: z.array(z.looseObject({ id: z.string(), role: z.string(), parts: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })) })).min(1),
});

function writeChunks(response: Response, chunks: UiMessageChunk[], id?: string): void {
  for (let index = 0; index < chunks.length; index++) {
    const idLine = id && index === chunks.length - 1 ? `id: ${id}\n` : '';
    response.write(`${idLine}data: ${JSON.stringify(chunks[index])}\n\n`);
  }
}

export function createBaselineApp(openai: OpenAI, model: string) {
  const app = express();
  app.disable('x-powered-by');

  app.post('/api/chat', express.json({ limit: '2mb' }), async (request, response) => {
    const parsed = chatBodySchema.safeParse(request.body);
    if (!parsed.success) return response.status(400).json({ error: { code: 'invalid_request', message: parsed.error.message } });
    const last = parsed.data.messages[parsed.data.messages.length - 1]!;
    const text = last.parts.map((part) => part.text ?? '').join('');
    const controller = new AbortController();
    response.on('close', () => controller.abort());

    const encoder = new UiMessageStreamEncoder({ modernClient: false });
    let sequence = 0;
    const eventId = () => `${Date.now()}-${sequence++}`;
    response.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
    response.write('retry: 1000\n\n');
    writeChunks(response, encoder.start(`${last.id}-assistant`));
    try {
      const stream = await openai.chat.completions.create(
        {
          model,
          messages: [
            { role: 'system', content: 'You are a helpful assistant.' },
            { role: 'user', content: text },
          ],
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
      writeChunks(response, encoder.encode({ kind: 'hop-start', hop: 0, attempt: 1 }), eventId());
      let finishReason: FinishReason = 'other';
      const usage = { inputTokens: 0, outputTokens: 0 };
      for await (const chunk of stream) {
        if (chunk.usage) {
          usage.inputTokens = chunk.usage.prompt_tokens;
          usage.outputTokens = chunk.usage.completion_tokens;
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (choice.delta?.content) writeChunks(response, encoder.encode({ kind: 'text-delta', hop: 0, attempt: 1, delta: choice.delta.content }), eventId());
        if (choice.finish_reason) finishReason = finishReasonOf(choice.finish_reason);
      }
      writeChunks(response, encoder.encode({ kind: 'hop-end', hop: 0, attempt: 1, finishReason }), eventId());
      writeChunks(response, encoder.encode({ kind: 'turn-finish', finishReason, usage }), eventId());
      response.end('data: [DONE]\n\n');
    } catch (error) {
      if (controller.signal.aborted) return;
      writeChunks(response, encoder.encode({ kind: 'error', errorText: error instanceof Error ? error.message : String(error) }));
      response.end('data: [DONE]\n\n');
    }
  });

  app.get('/api/ping-stream', (_request, response) => {
    response.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
    response.write('retry: 1000\n\n');
    writeChunks(response, [{ type: 'text-delta', id: 'text-0-1', delta: 'pong ' }], `${Date.now()}-0`);
    response.end('data: [DONE]\n\n');
  });

  app.get('/api/idle', (_request, response) => {
    response.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
    response.write('retry: 1000\n\n');
    writeChunks(response, [{ type: 'start', messageId: 'idle' }]);
  });

  return app;
}

async function run() {
  const baseUrl = process.env.OPENAI_BASE_URL;
  if (!baseUrl) throw new Error('OPENAI_BASE_URL is not set');
  const app = createBaselineApp(createOpenAiClient(baseUrl, process.env.OPENAI_API_KEY ?? 'scripted'), process.env.DEFAULT_MODEL ?? 'scripted-1');
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`baseline listening at http://127.0.0.1:${port}\n`);
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  run().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
