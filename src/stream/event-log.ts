/**
 * The per-turn event log and live fan-out in Redis.
 *
 * Every event is appended to the turn's Redis Stream (the replay log: capped, expiring after the
 * retention) and published on the turn's channel, atomically in one round trip (a Lua script). The
 * stream entry id is the event id, which the SSE bridge sends as `id:` so a reconnecting client
 * resumes exactly after the last event it saw.
 */
import type { Redis } from 'ioredis';
import type { ConversationEventType, LoggedStreamEvent, StreamEvent } from '../shared/stream-events';
import { latestTurnKey, turnStreamKeys } from './keys';

/**
 * Appends and publishes in one round trip, fenced by attempt and made idempotent by sequence:
 * - once an attempt of a hop has written, an older attempt of the same hop (a zombie whose worker
 *   lost contact with Temporal while a retry started elsewhere) can no longer write, so clients never
 *   see two attempts interleaved;
 * - each event of an attempt carries its sequence number, and a number already written is skipped,
 *   so a command retried after a lost reply (a reconnect) never appends an event twice.
 * ARGV: maxEvents, payload, retentionSeconds, channel, writer (a name: `hop:0`, `finish`, …), its
 * attempt (0 = not fenced), sequence.
 * Returns the entry id, `false` (nil) when fenced off, or `dup` for a sequence already written.
 */
const APPEND_SCRIPT = `
local attempt = tonumber(ARGV[6])
if attempt > 0 then
  local attemptField = 'a:' .. ARGV[5]
  local sequenceField = 's:' .. ARGV[5]
  local sequence = tonumber(ARGV[7])
  local current = tonumber(redis.call('HGET', KEYS[2], attemptField) or '0')
  if attempt < current then return false end
  if attempt == current and sequence <= tonumber(redis.call('HGET', KEYS[2], sequenceField) or '0') then return 'dup' end
  redis.call('HSET', KEYS[2], attemptField, attempt, sequenceField, sequence)
  if attempt > current then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], id .. '\\n' .. ARGV[2])
return id
`;

type RedisWithAppend = Redis & {
  appendTurnEvent(
    log: string,
    fence: string,
    maxEvents: number,
    payload: string,
    retentionSeconds: number,
    channel: string,
    writer: string,
    attempt: number,
    sequence: number,
  ): Promise<string | null>;
};

/** An attempt tried to write after a newer attempt of the same writer started: it must stop. */
export class SupersededAttemptError extends Error {
  constructor(turnId: string, writer: string, attempt: number) {
    super(`Attempt ${attempt} of ${writer} of ${turnId} was superseded by a newer attempt`);
    this.name = 'SupersededAttemptError';
  }
}

/**
 * Who writes a run of events and which attempt it is: one hop's attempt (`hop:<n>`), the tool
 * results of a round, the closing events. Within a writer's attempt, events are numbered.
 */
export interface EventWriter {
  name: string;
  attempt: number;
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
   * Appends to the log and publishes live in one round trip; returns the event id, or undefined when
   * the writer's attempt wrote this sequence number already (a retried command or activity). Throws
   * `SupersededAttemptError` when a newer attempt of the same writer has written. Without a writer
   * the event is appended as it comes.
   */
  async append(turnId: string, event: StreamEvent, position?: EventWriter & { sequence: number }): Promise<string | undefined> {
    const { log, channel, fence } = this.keys(turnId);
    const writer = position?.name ?? '';
    const attempt = position?.attempt ?? 0;
    const id = await this.redis.appendTurnEvent(log, fence, this.options.maxEvents, JSON.stringify(event), this.options.retentionSeconds, channel, writer, attempt, position?.sequence ?? 0);
    if (id === null) throw new SupersededAttemptError(turnId, writer, attempt);
    return id === 'dup' ? undefined : id;
  }

  /**
   * A publisher for one writer's attempt: it numbers its events from 1, so repeating the same
   * attempt's events (a retried local activity, a command retried after a reconnect) appends nothing
   * twice, and an older attempt is fenced off once a newer one wrote.
   */
  publisher(turnId: string, writer: EventWriter): (event: StreamEvent) => Promise<string | undefined> {
    let sequence = 0;
    return (event) => this.append(turnId, event, { ...writer, sequence: (sequence += 1) });
  }

  /** The id under which a conversation's own events are logged (a log like a turn's). */
  conversationLogId(conversationId: string): string {
    return `conversation:${conversationId}`;
  }

  /**
   * Appends a conversation-level event; `writer` names it uniquely (e.g. `finish:<turnId>`), so a
   * retried activity or request appends it once.
   */
  async publishConversationEvent(conversationId: string, writer: string, type: ConversationEventType, turnId: string, data?: Record<string, unknown>): Promise<void> {
    await this.append(this.conversationLogId(conversationId), { kind: 'conversation-event', type, turnId, ...(data ? { data } : {}) }, { name: writer, attempt: 1, sequence: 1 });
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

  /**
   * Makes `turnId` the conversation's latest turn and returns the one it replaced, atomically: two
   * messages sent at the same moment each see the other one or none, never the same predecessor, so
   * queued turns form one chain in the order their requests claimed it.
   */
  async swapLatestTurn(conversationId: string, turnId: string): Promise<string | null> {
    return this.redis.set(latestTurnKey(this.options.keyPrefix, conversationId), turnId, 'EX', this.options.retentionSeconds, 'GET');
  }

  /** Puts `previous` back as the latest turn if `turnId` still is (a refused request). */
  async restoreLatestTurn(conversationId: string, turnId: string, previous: string | null): Promise<void> {
    const key = latestTurnKey(this.options.keyPrefix, conversationId);
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end end return 1",
      1,
      key,
      turnId,
      previous ?? '',
      this.options.retentionSeconds,
    );
  }
}
