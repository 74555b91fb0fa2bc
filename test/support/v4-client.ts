/**
 * The real AI SDK v4 data stream client (test/clients/v4/parse.cjs over @ai-sdk/ui-utils 1.x) in a
 * child process. Its install is isolated in test/clients/v4 (own package.json and lockfile) because
 * @ai-sdk/ui-utils 1.x needs zod 3 and the project runs zod 4.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const CLIENT_DIRECTORY = path.resolve(__dirname, '../clients/v4');
const PARSER = path.join(CLIENT_DIRECTORY, 'parse.cjs');
const INSTALLED_MARKER = path.join(CLIENT_DIRECTORY, 'node_modules/@ai-sdk/ui-utils/package.json');

export interface V4ToolCall {
  toolCallId: string;
  toolName: string;
  args: Record<string, unknown>;
}

export interface V4Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface V4ToolInvocation {
  state: 'partial-call' | 'call' | 'result';
  step: number;
  toolCallId: string;
  toolName: string;
  args?: unknown;
  result?: unknown;
}

/** What ai 4's `useChat` (`callChatApi`) made of the body. */
export interface V4Chat {
  message: {
    id: string;
    role: string;
    content: string;
    parts: Array<{ type: string; [key: string]: unknown }>;
    toolInvocations?: V4ToolInvocation[];
    annotations?: unknown[];
  } | null;
  /** `useChat().data`: the items of every `2:` part. */
  data: unknown[];
  finishReason: string | null;
  usage: (V4Usage & { totalTokens: number }) | null;
  /** The error `useChat` would enter its error state with (a `3:` part, or a throw while building the message). */
  error: string | null;
}

/** The parts `processDataStream` yielded, by kind, plus what `useChat` built from them. */
export interface ParsedV4 {
  text: string;
  textParts: string[];
  /** One entry per `2:` part: its value, always an array. */
  data: unknown[][];
  /** One entry per `8:` part: its value, always an array. */
  annotations: unknown[][];
  toolCallStreamingStarts: Array<{ toolCallId: string; toolName: string }>;
  toolCallDeltas: Array<{ toolCallId: string; argsTextDelta: string }>;
  toolCalls: V4ToolCall[];
  toolResults: Array<{ toolCallId: string; result: unknown }>;
  errors: string[];
  startSteps: Array<{ messageId: string }>;
  finishSteps: Array<{ finishReason: string; usage?: V4Usage; isContinued: boolean }>;
  finishMessage: { finishReason: string; usage?: V4Usage } | null;
  /** Lines `formatDataStreamPart(parseDataStreamPart(line))` does not give back (up to key order): none when written as the SDK writes them. */
  nonCanonicalLines: string[];
  /** The part types in stream order (`text`, `data`, `finish_step`, …). */
  order: string[];
  chat: V4Chat;
}

/** Thrown when the real parser rejects the body (the v4 `useChat` would abort on the same line). */
export class V4ParseError extends Error {
  override readonly name = 'V4ParseError';
}

let installing: Promise<void> | undefined;

/** Installs test/clients/v4 from its lockfile when it is missing (a fresh clone); once per process. */
export function ensureV4Client(): Promise<void> {
  if (existsSync(INSTALLED_MARKER)) return Promise.resolve();
  installing ??= (async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    await promisify(execFile)(npm, ['ci', '--prefix', CLIENT_DIRECTORY, '--no-audit', '--no-fund'], { cwd: CLIENT_DIRECTORY, maxBuffer: 16 * 1024 * 1024 });
    if (!existsSync(INSTALLED_MARKER)) throw new Error(`npm ci in ${CLIENT_DIRECTORY} did not install @ai-sdk/ui-utils`);
  })();
  installing.catch(() => (installing = undefined));
  return installing;
}

/** Runs the real v4 parser and chat engine over `body`; rejects with {@link V4ParseError} when the parser throws. */
export async function parseV4(body: string): Promise<ParsedV4> {
  const child = spawn(process.execPath, [PARSER], { cwd: CLIENT_DIRECTORY, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(body);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let output: unknown;
  try {
    output = JSON.parse(last);
  } catch {
    throw new Error(`v4 parser exited with ${code} and no JSON: ${stdout}${stderr}`);
  }
  if (code !== 0) {
    const message = (output as { error?: unknown }).error;
    throw new V4ParseError(typeof message === 'string' ? message : `v4 parser exited with ${code}: ${stderr}`);
  }
  return output as ParsedV4;
}
