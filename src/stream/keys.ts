/**
 * Redis key and channel names for a turn's stream. The `{turnId}` hash tag keeps a turn's keys in
 * one slot, so the append script is valid on Redis Cluster too.
 */
export interface StreamKeys {
  log: string;
  channel: string;
}

export function turnStreamKeys(prefix: string, turnId: string): StreamKeys {
  return { log: `${prefix}turn:{${turnId}}:log`, channel: `${prefix}turn:{${turnId}}:live` };
}

/** The key naming the latest turn of a conversation, for `GET /api/chat/:id/stream`. */
export function latestTurnKey(prefix: string, conversationId: string): string {
  return `${prefix}chat:${conversationId}:latest-turn`;
}
