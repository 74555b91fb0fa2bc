/**
 * Redis key and channel names. The `{turnId}` hash tag keeps a turn's keys in one slot, so the
 * append script is valid on Redis Cluster too.
 */
export interface StreamKeys {
  log: string;
  channel: string;
  /** Where the API says "stop" to the worker streaming the turn (see ./stop-signals.ts). */
  stop: string;
  /** The latest attempt of each hop that wrote (see `EventLog.append`). */
  fence: string;
}

export function turnStreamKeys(prefix: string, turnId: string): StreamKeys {
  return { log: `${prefix}turn:{${turnId}}:log`, channel: `${prefix}turn:{${turnId}}:live`, stop: `${prefix}turn:{${turnId}}:stop`, fence: `${prefix}turn:{${turnId}}:fence` };
}

/** The pattern matching every turn's stop channel under a prefix (glob characters in it escaped). */
export function stopChannelPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}turn:*:stop`;
}

/** The turn id of a stop channel, or undefined for another channel. */
export function turnIdOfStopChannel(prefix: string, channel: string): string | undefined {
  const start = `${prefix}turn:{`;
  const end = '}:stop';
  if (!channel.startsWith(start) || !channel.endsWith(end)) return undefined;
  return channel.slice(start.length, -end.length);
}

/** The key naming the latest turn of a conversation, for `GET /api/chat/:id/stream`. */
export function latestTurnKey(prefix: string, conversationId: string): string {
  return `${prefix}chat:{${conversationId}}:latest-turn`;
}
