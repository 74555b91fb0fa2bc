/**
 * The app's calls to the REST side of the API (conversations, agents, stop, approvals, steering).
 * The chat stream itself goes through the AI SDK's `DefaultChatTransport`, never through here.
 * Every error becomes an {@link ApiError} carrying the server's readable message.
 */
import type { UIMessage } from 'ai';

/** What the API adds to an assistant message: the turn's outcome, tokens and cost. */
export interface AnswerMetadata {
  createdAt?: string;
  finishReason?: string;
  usage?: { inputTokens: number; outputTokens: number };
  hopUsage?: { hop: number; inputTokens: number; outputTokens: number };
  model?: string;
  costUsd?: number;
  /** The agent that answered (stored answers). */
  agentId?: string;
  cached?: boolean;
  error?: string;
}

export type ChatMessage = UIMessage<AnswerMetadata>;

export interface Conversation {
  id: string;
  title: string;
  titleSource: 'message' | 'generated' | 'user';
  agentId: string | null;
  createdAt: string;
  lastActivityAt: string;
}

export interface Agent {
  id: string;
  name: string;
  model?: string | null;
  isDefault?: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API's error body `{"error":{"code","message"}}` as a sentence; other text as it is. */
export function readableError(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // Not JSON: a network error, or an in-band stream error whose text is already readable.
  }
  if (/failed to fetch|networkerror|load failed/i.test(raw)) return 'The server cannot be reached. Check your connection and try again.';
  return raw || 'Something went wrong.';
}

export function authHeaders(apiKey: string): Record<string, string> {
  // ai ≥ 7 understands `reset-step`: a retried hop then leaves no ghost text behind.
  return { Authorization: `Bearer ${apiKey}`, 'X-AI-SDK-Version': '7' };
}

export class ApiClient {
  constructor(readonly apiKey: string) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { ...authHeaders(this.apiKey), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new ApiError(0, 'network_error', readableError(error));
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `The server answered ${response.status}.`);
    }
    return parsed as T;
  }

  listConversations(cursor?: string | null) {
    const query = new URLSearchParams({ limit: '30', ...(cursor ? { cursor } : {}) });
    return this.request<{ conversations: Conversation[]; nextCursor: string | null }>('GET', `/api/conversations?${query}`);
  }

  getConversation(chatId: string) {
    return this.request<{ conversation: Conversation; messages: ChatMessage[]; running: boolean }>('GET', `/api/conversations/${encodeURIComponent(chatId)}`);
  }

  renameConversation(chatId: string, title: string) {
    return this.request<{ conversation: Conversation }>('PATCH', `/api/conversations/${encodeURIComponent(chatId)}`, { title });
  }

  deleteConversation(chatId: string) {
    return this.request<void>('DELETE', `/api/conversations/${encodeURIComponent(chatId)}`);
  }

  /**
   * The workspace's agents for the picker. Reads both shapes of `GET /api/agents`: the management
   * API's pages (`{data, nextCursor}`, followed to the end) and the minimal list (`{agents}`).
   */
  async listAgents(): Promise<Agent[]> {
    const agents: Agent[] = [];
    let cursor: string | null | undefined;
    for (let page = 0; page < 20; page++) {
      const answer = await this.request<{ agents?: Agent[]; data?: Agent[]; nextCursor?: string | null }>('GET', `/api/agents${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
      agents.push(...(answer.agents ?? answer.data ?? []));
      cursor = answer.nextCursor;
      if (!cursor) break;
    }
    return agents.filter((agent) => typeof agent.id === 'string').map((agent) => ({ ...agent, name: agent.name || agent.id }));
  }

  /** Cancels the running turn for real (the client's own stop() only drops the connection). */
  stopTurn(chatId: string) {
    return this.request<{ stopped: boolean; turnId?: string }>('POST', `/api/chat/${encodeURIComponent(chatId)}/stop`);
  }

  /** Answers a tool approval request of the running turn (the control API of issue 14). */
  answerApproval(chatId: string, approvalId: string, approved: boolean, reason?: string) {
    return this.request<unknown>('POST', `/api/chat/${encodeURIComponent(chatId)}/approvals/${encodeURIComponent(approvalId)}`, {
      approved,
      ...(reason ? { reason } : {}),
    });
  }

  /** Adds a correction to the running turn, taken into account at its next hop (issue 14). */
  steer(chatId: string, text: string) {
    return this.request<unknown>('POST', `/api/chat/${encodeURIComponent(chatId)}/steer`, { text });
  }

  /** A stored file (attachment, generated image) by its API path, fetched with the key. */
  async fetchFile(path: string): Promise<Blob> {
    const response = await fetch(path, { headers: authHeaders(this.apiKey) });
    if (!response.ok) throw new ApiError(response.status, 'file_unavailable', `The file could not be loaded (${response.status}).`);
    return response.blob();
  }

  /** Checks the key: any authenticated read does. */
  async verify(): Promise<void> {
    await this.listConversations();
  }
}
