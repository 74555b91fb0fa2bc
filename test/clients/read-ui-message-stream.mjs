// Reads UI message stream chunks with the real `ai` package's `readUIMessageStream` (what the chat
// engine runs on each chunk), in a child process because `ai` is ESM-only and jest runs CommonJS.
//
// Input on stdin: { chunks: UIMessageChunk[], aiModule?: 'ai' }. Each chunk goes through the
// package's own chunk schema first, as `DefaultChatTransport` parses it off the wire.
// Output: one JSON line: { message, errors }.
import process from 'node:process';
import { ReadableStream } from 'node:stream/web';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text));
}));
const ai = await import(input.aiModule ?? 'ai');
const { safeValidateTypes } = await import('@ai-sdk/provider-utils');
const schema = ai.uiMessageChunkSchema;
const errors = [];
const stream = new ReadableStream({
  async start(controller) {
    for (const chunk of input.chunks) {
      const result = await safeValidateTypes({ value: chunk, schema });
      if (!result.success) {
        errors.push(`schema: ${chunk.type}: ${result.error.message}`);
        continue;
      }
      controller.enqueue(chunk);
    }
    controller.close();
  },
});
let message;
for await (const snapshot of ai.readUIMessageStream({ stream, onError: (error) => errors.push(String(error?.message ?? error)) })) message = snapshot;
process.stdout.write(JSON.stringify({ message, errors }) + '\n');
