/**
 * What integration tests do again and again, in one place: create an agent, post a chat request the
 * way `DefaultChatTransport` does, read a whole turn, read a conversation's stored events.
 */
import { randomUUID } from 'node:crypto';
import type { ScriptedLlm } from '../../src/scripted-llm/server';
import { chunksOf, readSse, textOf, userMessage, type SseEvent } from './sse';
import type { TestStack } from './stack';

export interface AgentFields {
  model?: string;
  fallbackModels?: string[];
  allowedTools?: string[];
  maxHops?: number;
  contextWindow?: number;
  memoryEnabled?: boolean;
  systemPrompt?: string;
  llmMaxAttempts?: number;
  llmInitialRetryIntervalMs?: number;
}

/** Creates an agent in the workspace (the test workspace by default); returns its id. */
export async function createAgent(stack: TestStack, fields: AgentFields = {}, workspaceId = stack.workspaceId): Promise<string> {
  const id = `agent-${randomUUID().slice(0, 8)}`;
  await stack.pool.query(
    `INSERT INTO agents (id, workspace_id, name, model, fallback_models, system_prompt, allowed_tools, max_hops, context_window, memory_enabled,
                         llm_max_attempts, llm_initial_retry_interval_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      id,
      workspaceId,
      id,
      fields.model ?? null,
      fields.fallbackModels ?? [],
      fields.systemPrompt ?? 'You are a test agent.',
      fields.allowedTools ?? [],
      fields.maxHops ?? 10,
      fields.contextWindow ?? 128000,
      fields.memoryEnabled ?? true,
      fields.llmMaxAttempts ?? 6,
      fields.llmInitialRetryIntervalMs ?? 200,
    ],
  );
  return id;
}

export interface PostOptions {
  apiKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `POST /api/chat` with a body (an object, or raw text for malformed-body tests). */
export function postChat(stack: TestStack, body: unknown, options: PostOptions = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey ?? stack.apiKey}`, ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export interface TurnRun {
  chatId: string;
  requestId: string;
  events: SseEvent[];
  chunks: Array<{ type: string; [key: string]: unknown }>;
  /** The streamed text, as an ai 7 client shows it (a reset step drops its text). */
  text: string;
}

/** Sends one user message as an ai 7 client would and reads the whole stream. */
export async function runTurn(
  stack: TestStack,
  chatId: string,
  text: string,
  options: PostOptions & { extra?: Record<string, unknown>; requestId?: string } = {},
): Promise<TurnRun> {
  const requestId = options.requestId ?? `msg-${randomUUID()}`;
  const response = await postChat(stack, { id: chatId, messages: [userMessage(requestId, text)], ...options.extra }, { ...options, headers: { 'x-ai-sdk-version': '7', ...options.headers } });
  if (response.status !== 200) throw new Error(`POST /api/chat answered ${response.status}: ${await response.text()}`);
  const events = await readSse(response);
  const chunks = chunksOf(events);
  return { chatId, requestId, events, chunks, text: textOf(chunks) };
}

export interface StoredEvent {
  seq: number;
  type: string;
  role: string | null;
  message_id: string | null;
  request_id: string;
  turn_id: string | null;
  content: Record<string, unknown> & { parts?: Array<{ type: string; [key: string]: unknown }> };
  extra: Record<string, unknown>;
}

/** The stored events of a chat of the test workspace (or of `workspaceId`), in order. */
export async function storedEvents(stack: TestStack, chatId: string, workspaceId = stack.workspaceId): Promise<StoredEvent[]> {
  const result = await stack.pool.query('SELECT seq, type, role, message_id, request_id, turn_id, content, extra FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [
    stack.conversationKey(chatId, workspaceId),
  ]);
  return result.rows as StoredEvent[];
}

/** The text of the stored answer of a chat's latest turn, waiting for it to be stored. */
export async function storedAnswerText(stack: TestStack, chatId: string, workspaceId = stack.workspaceId): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = (await storedEvents(stack, chatId, workspaceId)).filter((event) => event.role === 'assistant' && event.type === 'message').at(-1);
    if (answer) return (answer.content.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text as string).join('');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer stored for ${chatId}`);
}

/**
 * The model requests of the turns themselves that carry `fragment`: not the background calls after a
 * turn (memory extraction, the conversation's title), which quote the exchange too.
 */
export function answerRequests(llm: ScriptedLlm, fragment: string) {
  return llm.requests.filter((request) => request.rule !== 'memory-extraction' && request.rule !== 'title' && JSON.stringify(request.messages).includes(fragment));
}
