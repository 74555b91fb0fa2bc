// Reads an AI SDK v4 data stream body (`x-vercel-ai-data-stream: v1`) on stdin and runs the real v4
// client code over it, from this folder's isolated install of @ai-sdk/ui-utils 1.x (zod 3 peer; the
// project root runs zod 4, so the package cannot live there).
//
// - `processDataStream`: the parser; every part it yields is collected by kind, in order.
// - `formatDataStreamPart(parseDataStreamPart(line))` per line: `nonCanonicalLines` lists the lines
//   the SDK would not write the same way (up to key order).
// - `callChatApi` with a fetch that answers the same body: what ai 4's `useChat` runs, which builds
//   the assistant message and throws on `3:` error parts (reported as `chat.error`).
//
// The body is fed one line per chunk, as the bridge writes it. Output: one JSON line. A throw from
// `processDataStream` (a line the parser rejects) prints {"error": message} and exits 1.
'use strict';
/* global TextEncoder, ReadableStream, Response -- Node 20 web globals */

// Loaded with import() (the package's ESM build) so the file needs no require().
const client = import('@ai-sdk/ui-utils');
client.catch(() => {}); // a missing install surfaces where the client is awaited, as {"error"}

function bodyStream(body) {
  const encoder = new TextEncoder();
  const lines = body.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return new ReadableStream({
    start(controller) {
      for (const chunk of lines) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function parseParts(body) {
  const { processDataStream } = await client;
  const result = {
    text: '',
    textParts: [],
    data: [],
    annotations: [],
    toolCallStreamingStarts: [],
    toolCallDeltas: [],
    toolCalls: [],
    toolResults: [],
    errors: [],
    startSteps: [],
    finishSteps: [],
    finishMessage: null,
    order: [],
  };
  const on = (type, handle) => (value) => {
    result.order.push(type);
    handle(value);
  };
  await processDataStream({
    stream: bodyStream(body),
    onTextPart: on('text', (value) => {
      result.text += value;
      result.textParts.push(value);
    }),
    onDataPart: on('data', (value) => result.data.push(value)),
    onMessageAnnotationsPart: on('message_annotations', (value) => result.annotations.push(value)),
    onErrorPart: on('error', (value) => result.errors.push(value)),
    onToolCallStreamingStartPart: on('tool_call_streaming_start', (value) => result.toolCallStreamingStarts.push(value)),
    onToolCallDeltaPart: on('tool_call_delta', (value) => result.toolCallDeltas.push(value)),
    onToolCallPart: on('tool_call', (value) => result.toolCalls.push(value)),
    onToolResultPart: on('tool_result', (value) => result.toolResults.push(value)),
    onStartStepPart: on('start_step', (value) => result.startSteps.push(value)),
    onFinishStepPart: on('finish_step', (value) => result.finishSteps.push(value)),
    onFinishMessagePart: on('finish_message', (value) => (result.finishMessage = value)),
    onReasoningPart: on('reasoning', () => {}),
    onSourcePart: on('source', () => {}),
    onFilePart: on('file', () => {}),
  });
  return result;
}

/** JSON with sorted keys, to compare values regardless of key order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Lines that `formatDataStreamPart(parseDataStreamPart(line))` does not give back (up to key order):
 * fields the parser drops, or values it coerces. Empty for lines written as the SDK writes them.
 */
async function nonCanonicalLines(body) {
  const { parseDataStreamPart, formatDataStreamPart } = await client;
  return body
    .split('\n')
    .filter((line) => line !== '')
    .filter((line) => {
      const { type, value } = parseDataStreamPart(line);
      const formatted = formatDataStreamPart(type, value);
      return formatted.slice(0, 2) !== line.slice(0, 2) || canonical(JSON.parse(formatted.slice(2))) !== canonical(JSON.parse(line.slice(2)));
    });
}

async function runChat(body) {
  const { callChatApi } = await client;
  const chat = { message: null, data: [], finishReason: null, usage: null, error: null };
  try {
    await callChatApi({
      api: 'http://v4-client.invalid/api/chat',
      body: { id: 'chat-under-test', messages: [] },
      streamProtocol: 'data',
      fetch: async () => new Response(bodyStream(body), { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-vercel-ai-data-stream': 'v1' } }),
      restoreMessagesOnFailure: () => {},
      onUpdate: ({ message, data }) => {
        chat.message = message;
        chat.data = data;
      },
      onFinish: (message, { finishReason, usage }) => {
        chat.message = message;
        chat.finishReason = finishReason;
        chat.usage = usage;
      },
      generateId: () => 'client-generated-id',
      lastMessage: undefined,
    });
  } catch (error) {
    chat.error = error instanceof Error ? error.message : String(error);
  }
  if (chat.message) {
    // Per-update noise, not protocol content.
    delete chat.message.revisionId;
    delete chat.message.createdAt;
  }
  return chat;
}

async function main() {
  let body = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) body += chunk;
  let parts;
  try {
    parts = await parseParts(body);
    parts.nonCanonicalLines = await nonCanonicalLines(body);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
    process.exitCode = 1;
    return;
  }
  const chat = await runChat(body);
  process.stdout.write(`${JSON.stringify({ ...parts, chat })}\n`);
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exitCode = 1;
});
