/**
 * Feeds UI message stream chunks to the real `ai` package (`readUIMessageStream`, in a child
 * process: test/clients/read-ui-message-stream.mjs) and returns the message it assembled, with the
 * errors it reported.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface ReadUiMessage {
  message: { id: string; role: string; parts: Array<{ type: string; [key: string]: unknown }>; metadata?: Record<string, unknown> };
  errors: string[];
}

/** `aiModule` picks the client version: `ai` (7, the default), `ai-v6` or `ai-v5`. */
export async function readWithRealClient(chunks: ReadonlyArray<object>, aiModule?: string): Promise<ReadUiMessage> {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../clients/read-ui-message-stream.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify({ chunks, ...(aiModule ? { aiModule } : {}) }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`reader exited with ${code}: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ReadUiMessage;
}
