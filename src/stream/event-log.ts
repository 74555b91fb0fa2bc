/**
 * The per-turn event log and live fan-out in Redis.
 *
 * Every event is appended to the turn's Redis Stream (the replay log: capped, expiring after the
 * retention) and published on the turn's channel, atomically in one round trip (a Lua script). The
 * stream entry id is the event id, which the SSE bridge sends as `id:` so a reconnecting client
 * resumes exactly after the last event it saw.
 */
import type { Redis } from 'ioredis';
import type { LoggedStreamEvent, StreamEvent } from '../shared/stream-events';
import { latestTurnKey, turnStreamKeys } from './keys';

/**
 * Appends and publishes in one round trip, fenced by attempt: once an attempt of a hop has written,
 * an older attempt of the same hop (a zombie whose worker lost contact with Temporal while a retry
 * started elsewhere) can no longer write, so clients never see two attempts interleaved.
 * ARGV: maxEvents, payload, retentionSeconds, channel, hop, attempt (0 = not an attempt's event).
 */
const APPEND_SCRIPT = `
local attempt = tonumber(ARGV[6])
if attempt > 0 then
  local current = tonumber(redis.call('HGET', KEYS[2], ARGV[5]) or '0')
  if attempt < current then return false end
  if attempt > current then
    redis.call('HSET', KEYS[2], ARGV[5], attempt)
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], id .. '\\n' .. ARGV[2])
return id
`;

type RedisWithAppend = Redis & {
  appendTurnEvent(log: string, fence: string, maxEvents: number, payload: string, retentionSeconds: number, channel: string, hop: number, attempt: number): Promise<string | null>;
};

/** An attempt of a hop tried to write after a newer attempt of the same hop started: it must stop. */
export class SupersededAttemptError extends Error {
  constructor(turnId: string, hop: number, attempt: number) {
    super(`Attempt ${attempt} of hop ${hop} of ${turnId} was superseded by a newer attempt`);
    this.name = 'SupersededAttemptError';
  }
}

/** The hop and attempt an event belongs to, for the fence (attempt 0: not fenced). */
function fenceOf(event: StreamEvent): { hop: number; attempt: number } {
  return 'attempt' in event && event.attempt !== undefined && 'hop' in event ? { hop: event.hop, attempt: event.attempt } : { hop: 0, attempt: 0 };
}

export interface EventLogOptions {
  keyPrefix: string;
  retentionSeconds: number;
  maxEvents: number;
}

/** The event log settings of a deployment (prefix, retention, cap). */
export function eventLogOptionsFrom(configuration: { redis: { keyPrefix: string; streamRetentionSeconds: number; streamMaxEvents: number } }): EventLogOptions {
  return {
    keyPrefix: configuration.redis.keyPrefix,
    retentionSeconds: configuration.redis.streamRetentionSeconds,
    maxEvents: configuration.redis.streamMaxEvents,
  };
}

/** Compares two stream entry ids (`<ms>-<seq>`) numerically. */
export function compareEntryIds(left: string, right: string): number {
  const [leftMs = '0', leftSeq = '0'] = left.split('-');
  const [rightMs = '0', rightSeq = '0'] = right.split('-');
  const byMs = Number(leftMs) - Number(rightMs);
  return byMs !== 0 ? Math.sign(byMs) : Math.sign(Number(leftSeq) - Number(rightSeq));
}

/** Decodes a pub/sub message (`<id>\n<json>`) into an id and event. */
export function decodeLiveMessage(message: string): LoggedStreamEvent {
  const newline = message.indexOf('\n');
  return { id: message.slice(0, newline), event: JSON.parse(message.slice(newline + 1)) as StreamEvent };
}

export class EventLog {
  private readonly redis: RedisWithAppend;

  constructor(redis: Redis, private readonly options: EventLogOptions) {
    if (!('appendTurnEvent' in redis)) redis.defineCommand('appendTurnEvent', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.redis = redis as RedisWithAppend;
  }

  keys(turnId: string) {
    return turnStreamKeys(this.options.keyPrefix, turnId);
  }

  /**
   * Appends to the log and publishes live in one round trip; returns the event id. Throws
   * `SupersededAttemptError` when a newer attempt of the event's hop has written already.
   */
  async append(turnId: string, event: StreamEvent): Promise<string> {
    const { log, channel, fence } = this.keys(turnId);
    const { hop, attempt } = fenceOf(event);
    const id = await this.redis.appendTurnEvent(log, fence, this.options.maxEvents, JSON.stringify(event), this.options.retentionSeconds, channel, hop, attempt);
    if (id === null) throw new SupersededAttemptError(turnId, hop, attempt);
    return id;
  }

  /** The logged events after `afterId` (exclusive), or from the start, in order. */
  async readAfter(turnId: string, afterId?: string, pageSize = 1000): Promise<LoggedStreamEvent[]> {
    const { log } = this.keys(turnId);
    const events: LoggedStreamEvent[] = [];
    let start = afterId ? `(${afterId}` : '-';
    for (;;) {
      const page = await this.redis.xrange(log, start, '+', 'COUNT', pageSize);
      for (const [id, fields] of page) {
        const payload = fields[1];
        if (payload !== undefined) events.push({ id, event: JSON.parse(payload) as StreamEvent });
      }
      if (page.length < pageSize) return events;
      start = `(${page[page.length - 1]![0]}`;
    }
  }

  /** Whether a log exists for the turn (it expires after the retention). */
  async exists(turnId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(turnId).log)) === 1;
  }

  /** Records the conversation's latest turn, so a resume request finds its stream. */
  async setLatestTurn(conversationId: string, turnId: string): Promise<void> {
    await this.redis.set(latestTurnKey(this.options.keyPrefix, conversationId), turnId, 'EX', this.options.retentionSeconds);
  }

  async latestTurn(conversationId: string): Promise<string | null> {
    return this.redis.get(latestTurnKey(this.options.keyPrefix, conversationId));
  }
}
