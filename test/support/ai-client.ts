/** Runs the real `ai` chat engine (test/clients/ai-chat-driver.mjs) against the API in a child process. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface AiClientResult {
  status: string;
  error: string | null;
  messages: Array<{ id: string; role: string; parts: Array<{ type: string; [key: string]: unknown }>; metadata?: Record<string, unknown> }>;
  finishEvents: Array<{ isError: boolean; isAbort: boolean; isDisconnect: boolean; finishReason: string | null }>;
  stopAnswers: Array<{ status: number; body: { stopped: boolean; turnId?: string }; shownWhenStopped: number }>;
  approvalAnswers: Array<{ approvalId: string; via: 'addToolApprovalResponse' | 'rest'; status?: number; body?: Record<string, unknown> }>;
  steerAnswers: Array<{ status: number; body: Record<string, unknown>; shownWhenSteered: number }>;
}

export interface AiClientScenario {
  apiUrl: string;
  apiKey: string;
  chatId: string;
  aiModule?: string;
  headers?: Record<string, string>;
  /** Extra fields of every request body (`DefaultChatTransport`'s `body`), e.g. `{ agentId }`. */
  body?: Record<string, unknown>;
  /** Send approval answers by the chat's own next request (`sendAutomaticallyWhen`), as useChat does. */
  autoSendApprovals?: boolean;
  steps: Array<
    | { action: 'send'; text: string }
    | { action: 'resume' }
    | { action: 'regenerate' }
    | { action: 'send-then-stop'; text: string; minChars: number }
    | { action: 'answer-approval'; approved: boolean; reason?: string }
    | { action: 'rest-approval'; approved: boolean; reason?: string }
    | { action: 'steer'; send: string; text: string; afterChars: number }
  >;
}

export async function runAiClient(scenario: AiClientScenario): Promise<AiClientResult> {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../clients/ai-chat-driver.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify(scenario));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ai client exited with ${code}: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as AiClientResult;
}

export function assistantText(message: AiClientResult['messages'][number] | undefined): string {
  return (message?.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text as string).join('');
}

/**
 * An ai 7 chat engine sends `text` and stops the answer once it shows `minChars` characters;
 * returns the run and the answer text the client kept.
 */
export async function sendThenStop(target: { apiUrl: string; apiKey: string }, chatId: string, text: string, minChars: number): Promise<{ result: AiClientResult; shown: string }> {
  const result = await runAiClient({
    apiUrl: target.apiUrl,
    apiKey: target.apiKey,
    chatId,
    headers: { 'x-ai-sdk-version': '7' },
    steps: [{ action: 'send-then-stop', text, minChars }],
  });
  return { result, shown: assistantText(result.messages.at(-1)) };
}

/**
 * What a user sees of a stopped answer: the stop was accepted, the answer kept what it showed (at
 * least `minChars`, less than the whole `fullAnswer`) and ended as cancelled.
 */
export function expectStoppedPartialAnswer(stopped: { result: AiClientResult; shown: string }, minChars: number, fullAnswer: string): void {
  expect(stopped.result.stopAnswers[0]).toMatchObject({ status: 200, body: { stopped: true } });
  expect(stopped.result.error).toBeNull();
  expect(stopped.shown.length).toBeGreaterThanOrEqual(minChars);
  expect(stopped.shown.length).toBeLessThan(fullAnswer.length);
  expect(stopped.result.messages.at(-1)?.metadata).toMatchObject({ finishReason: 'cancelled' });
}
