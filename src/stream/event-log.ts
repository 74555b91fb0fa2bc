/**
 * The per-turn event log and live fan-out in Redis.
 *
 * Every event is appended to the turn's Redis Stream (the replay log: capped, expiring after the
 * retention) and published on the turn's channel, atomically in one round trip (a Lua script). The
 * stream entry id is the event id, which the SSE bridge sends as `id:` so a reconnecting client
 * resumes exactly after the last event it saw.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RedisClient } from '../clients';
import type { ConversationEventType, LoggedStreamEvent, StreamEvent } from '../shared/stream-events';
import { latestTurnKey, turnStreamKeys } from './keys';
import { activeTracing } from '../telemetry/active';

/**
 * Appends a batch of events and publishes them live in one round trip, fenced by attempt and made
 * idempotent by sequence:
 * - once an attempt of a writer has written, an older attempt of the same writer (a zombie whose
 *   worker lost contact with Temporal while a retry started elsewhere) can no longer write, so
 *   clients never see two attempts interleaved;
 * - each event of an attempt carries its sequence number, and a number already written is skipped,
 *   so a command retried after a lost reply (a reconnect) never appends an event twice.
 * Every event gets its own stream entry (its own id, for `Last-Event-ID`); the batch is published as
 * one message, entries separated by U+001E (a control character JSON text never holds raw).
 * KEYS: the log, the fence, the live channel (declared as a key: on Redis Cluster a shard channel
 * must hash to the script's slot, which the `{turnId}` hash tag guarantees).
 * ARGV: maxEvents, retentionSeconds, writer (a name: `hop:0`, `finish`, …), its attempt
 * (0 = not fenced), then a sequence and a payload per event.
 * Returns an id per event (`dup` for a sequence already written), or `false` (nil) when fenced off.
 * `publishCommand` is PUBLISH on one server and SPUBLISH (sharded pub/sub, Redis ≥ 7) on a cluster,
 * where a plain PUBLISH would be broadcast to every node of the cluster.
 */
const appendScript = (publishCommand: 'PUBLISH' | 'SPUBLISH') => `
local attempt = tonumber(ARGV[4])
local attemptField = 'a:' .. ARGV[3]
local sequenceField = 's:' .. ARGV[3]
local written = 0
if attempt > 0 then
  local current = tonumber(redis.call('HGET', KEYS[2], attemptField) or '0')
  if attempt < current then return false end
  if attempt == current then written = tonumber(redis.call('HGET', KEYS[2], sequenceField) or '0') end
  if attempt > current then
    redis.call('HSET', KEYS[2], attemptField, attempt, sequenceField, 0)
    redis.call('EXPIRE', KEYS[2], ARGV[2])
  end
end
local ids = {}
local live = {}
local highest = written
for index = 5, #ARGV, 2 do
  local sequence = tonumber(ARGV[index])
  if attempt > 0 and sequence <= written then
    ids[#ids + 1] = 'dup'
  else
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[index + 1])
    ids[#ids + 1] = id
    live[#live + 1] = id .. '\\n' .. ARGV[index + 1]
    if sequence > highest then highest = sequence end
  end
end
if #live > 0 then
  if attempt > 0 then redis.call('HSET', KEYS[2], sequenceField, highest) end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('${publishCommand}', KEYS[3], table.concat(live, '\\30'))
end
return ids
`;

/** Separates the entries of one live message (a batch): U+001E, never raw in JSON text. */
const ENTRY_SEPARATOR = '\u001e';

type AppendCommand = (log: string, fence: string, channel: string, maxEvents: number, retentionSeconds: number, writer: string, attempt: number, ...sequencesAndPayloads: Array<string | number>) => Promise<string[] | null>;
type RedisWithAppend = RedisClient & { appendTurnEvents: AppendCommand; appendTurnEventsSharded: AppendCommand };

/** Runs `call` in a client span of the Redis call it makes (tracing on only). */
function redisSpan<T>(name: string, attributes: Record<string, string | number>, call: () => Promise<T>): Promise<T> {
  return trace.getTracer('durable-chat-redis').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', ...attributes } }, async (span) => {
    try {
      return await call();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

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

/** Decodes a pub/sub message (entries `<id>\n<json>`, separated by U+001E) into its events, in order. */
export function decodeLiveMessages(message: string): LoggedStreamEvent[] {
  return message.split(ENTRY_SEPARATOR).map((entry) => {
    const newline = entry.indexOf('\n');
    return { id: entry.slice(0, newline), event: JSON.parse(entry.slice(newline + 1)) as StreamEvent };
  });
}

/** Most events one Redis call appends; a longer queue goes out in several calls. */
const MAX_BATCH_EVENTS = 256;
/** Queued events past which a publisher makes its callers wait (Redis slower than the model). */
const MAX_QUEUED_EVENTS = 4096;

/**
 * A publisher for one writer's attempt (see {@link EventLog.publisher}). `publish` resolves once
 * the event is in the log; `enqueue` does not wait, for the per-delta path.
 */
export interface EventPublisher {
  (event: StreamEvent): Promise<string | undefined>;
  /**
   * Queues the event without waiting for Redis; a failure surfaces at the next `publish`,
   * `enqueue` or `flush`. Resolves at once unless the queue is full (backpressure).
   */
  enqueue(event: StreamEvent): Promise<void>;
  /** Resolves once every queued event is in the log. */
  flush(): Promise<void>;
}

export class EventLog {
  private readonly redis: RedisWithAppend;
  /** Redis calls are spans when tracing is on (no instrumentation covers ioredis 6 yet). */
  private readonly traced = activeTracing() !== undefined;
  private readonly appendScript: AppendCommand;

  constructor(redis: RedisClient, private readonly options: EventLogOptions) {
    if (redis.isCluster) {
      if (!('appendTurnEventsSharded' in redis)) redis.defineCommand('appendTurnEventsSharded', { numberOfKeys: 3, lua: appendScript('SPUBLISH') });
    } else if (!('appendTurnEvents' in redis)) redis.defineCommand('appendTurnEvents', { numberOfKeys: 3, lua: appendScript('PUBLISH') });
    this.redis = redis as RedisWithAppend;
    this.appendScript = redis.isCluster ? this.redis.appendTurnEventsSharded.bind(this.redis) : this.redis.appendTurnEvents.bind(this.redis);
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
    const [id] = await this.appendMany(turnId, [{ event, sequence: position?.sequence ?? 0 }], position);
    return id;
  }

  /** Appends events of one writer's attempt in one round trip; an id per event (undefined: written before). */
  async appendMany(turnId: string, events: ReadonlyArray<{ event: StreamEvent; sequence: number }>, writer?: EventWriter): Promise<Array<string | undefined>> {
    if (!this.traced) return this.appendManyUntraced(turnId, events, writer);
    return redisSpan('redis appendTurnEvents', { 'db.operation': 'EVALSHA', 'durable_chat.turn_id': turnId, 'durable_chat.events': events.length }, () => this.appendManyUntraced(turnId, events, writer));
  }

  private async appendManyUntraced(turnId: string, events: ReadonlyArray<{ event: StreamEvent; sequence: number }>, writer?: EventWriter): Promise<Array<string | undefined>> {
    const { log, channel, fence } = this.keys(turnId);
    const name = writer?.name ?? '';
    const attempt = writer?.attempt ?? 0;
    const pairs = events.flatMap(({ event, sequence }) => [sequence, JSON.stringify(event)]);
    const ids = await this.appendScript(log, fence, channel, this.options.maxEvents, this.options.retentionSeconds, name, attempt, ...pairs);
    if (ids === null) throw new SupersededAttemptError(turnId, name, attempt);
    return ids.map((id) => (id === 'dup' ? undefined : id));
  }

  /**
   * A publisher for one writer's attempt: it numbers its events from 1, so repeating the same
   * attempt's events (a retried local activity, a command retried after a reconnect) appends nothing
   * twice, and an older attempt is fenced off once a newer one wrote.
   *
   * Adaptive batching: at most one Redis call is in flight per publisher; events queued meanwhile go
   * out together in the next call, in order. A quiet stream writes each event at once (no added
   * latency); a busy machine makes fewer, larger writes.
   */
  publisher(turnId: string, writer: EventWriter): EventPublisher {
    let sequence = 0;
    const queue: Array<{ event: StreamEvent; sequence: number; settle?: { resolve(id: string | undefined): void; reject(error: unknown): void } }> = [];
    let draining: Promise<void> | undefined;
    let failure: unknown;
    const drain = async () => {
      while (queue.length > 0 && failure === undefined) {
        const batch = queue.splice(0, MAX_BATCH_EVENTS);
        try {
          const ids = await this.appendMany(turnId, batch, writer);
          batch.forEach((item, index) => item.settle?.resolve(ids[index]));
        } catch (error) {
          failure = error;
          for (const item of [...batch, ...queue.splice(0)]) item.settle?.reject(error);
        }
      }
      draining = undefined;
    };
    const push = (event: StreamEvent, settle?: { resolve(id: string | undefined): void; reject(error: unknown): void }) => {
      queue.push({ event, sequence: (sequence += 1), ...(settle ? { settle } : {}) });
      draining ??= drain();
    };
    const flush = async () => {
      while (draining) await draining;
      if (failure !== undefined) throw failure;
    };
    const publish = ((event: StreamEvent) => {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<string | undefined>((resolve, reject) => push(event, { resolve, reject }));
    }) as EventPublisher;
    publish.enqueue = async (event) => {
      if (failure !== undefined) throw failure;
      push(event);
      if (queue.length > MAX_QUEUED_EVENTS) await flush();
    };
    publish.flush = flush;
    return publish;
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
    if (!this.traced) return this.readAfterUntraced(turnId, afterId, pageSize);
    return redisSpan('redis readTurnLog', { 'db.operation': 'XRANGE', 'durable_chat.turn_id': turnId }, () => this.readAfterUntraced(turnId, afterId, pageSize));
  }

  private async readAfterUntraced(turnId: string, afterId?: string, pageSize = 1000): Promise<LoggedStreamEvent[]> {
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
