/**
 * Every id and key derived from business keys, in one place. Pure: imported by workflow code, the
 * activities and the API alike, so each side builds and reads them the same way.
 *
 * Three rules keep them unambiguous:
 * - A conversation belongs to a workspace: its key is `<workspaceId>/<chatId>`. Chat ids cannot contain
 *   `/` (see `CLIENT_ID_PATTERN`), and workspace ids are ours, so two workspaces never share a key.
 * - Client-chosen parts are escaped (`%` and `:`) wherever `:` separates components, so a client id
 *   containing `:` cannot make one workflow id read as another.
 * - Request ids in `chat_events` carry a namespace (`user:`, `assistant:`, `tool:`, …): a user message
 *   id can never take the place of an internal one.
 */

/** What a client-chosen id (chat id, message id) may contain. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Escapes the characters that separate components (`%` first, so the escape is reversible). */
export function escapeComponent(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function unescapeComponent(value: string): string {
  return value.replace(/%3A/gi, ':').replace(/%25/g, '%');
}

/** The internal id of a conversation: unique across workspaces, stable for the life of the chat. */
export function conversationKey(workspaceId: string, chatId: string): string {
  return `${workspaceId}/${chatId}`;
}

/**
 * The turn key: what makes one turn of a conversation unique. A submitted message's turn is keyed
 * by its id; a regenerated answer to the same message gets a key of its own, derived from the answer
 * it replaces, so a duplicate regenerate request attaches to the same turn instead of running twice.
 */
export function turnKey(userMessageId: string, replaces?: string): string {
  return replaces === undefined ? userMessageId : `${userMessageId}~r${stableHash(replaces)}`;
}

/** The user message a turn key answers. */
export function userMessageIdOfTurnKey(key: string): string {
  const marker = key.indexOf('~r');
  return marker < 0 ? key : key.slice(0, marker);
}

/** The workflow id of one chat turn: `chat:<conversation key>:<turn key>`, components escaped. */
export function turnWorkflowId(conversation: string, key: string): string {
  return `chat:${escapeComponent(conversation)}:${escapeComponent(key)}`;
}

/** The inverse of {@link turnWorkflowId}; undefined for an id that is not a chat turn's. */
export function parseTurnWorkflowId(workflowId: string): { conversationKey: string; turnKey: string } | undefined {
  const parts = workflowId.split(':');
  if (parts.length !== 3 || parts[0] !== 'chat' || !parts[1] || !parts[2]) return undefined;
  return { conversationKey: unescapeComponent(parts[1]), turnKey: unescapeComponent(parts[2]) };
}

/**
 * The persisted assistant message id of a turn. Derived from the turn key so the API can announce it
 * in the `start` chunk before the workflow ran a task, and a resumed or duplicate stream carries the
 * same id. `~` cannot appear in a client id, so no user message can take this id.
 */
export function assistantMessageId(key: string): string {
  return `${key}~assistant`;
}

/** Request ids of the events of a conversation (`chat_events.request_id`), one namespace each. */
export const requestIds = {
  userMessage: (messageId: string) => `user:${messageId}`,
  answer: (key: string) => `assistant:${escapeComponent(key)}`,
  /** A tool result, as the seed names it: `tool:<request>:<hop>:<index>`, so later turns see it. */
  toolResult: (key: string, hop: number, index: number) => `tool:${escapeComponent(key)}:${hop}:${index}`,
  contextReset: (key: string) => `reset:${escapeComponent(key)}`,
  summary: (key: string) => `summary:${escapeComponent(key)}`,
  deltaBatch: (key: string, hop: number, attempt: number, batch: number) => `delta:${escapeComponent(key)}:${hop}:${attempt}:${batch}`,
  steering: (key: string, index: number) => `steer:${escapeComponent(key)}:${index}`,
} as const;

/**
 * Idempotency key of one tool call: stable across activity retries and workflow replays. The turn id
 * has exactly two separators and the hop is a number, so the key reads back unambiguously.
 */
export function toolCallKey(turnId: string, hop: number, toolCallId: string): string {
  return `${turnId}:${hop}:${toolCallId}`;
}

/**
 * A short, stable hash (FNV-1a, 32 bits, base 36) for deriving keys from ids. Not for security:
 * only to keep derived keys short and deterministic on both sides of the sandbox.
 */
export function stableHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
