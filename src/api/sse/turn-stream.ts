/**
 * The SSE bridge for one client and one turn: replay the turn's log (from the start, or after
 * `Last-Event-ID`), then follow it live through the process-wide subscriber, with no event twice
 * and none missing. The live subscription is taken before the log is read, and live events are
 * held until the replay has caught up, so the hand-over cannot lose an event.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../logger';
import type { EventLog } from '../../stream/event-log';
import { compareEntryIds } from '../../stream/event-log';
import type { SubscriberHub } from '../../stream/subscriber-hub';
import { isTerminal, type LoggedStreamEvent, type StreamEvent } from '../../shared/stream-events';
import { createFraming, type StreamProtocol } from './stream-framing';

export interface TurnStreamDependencies {
  hub: SubscriberHub;
  eventLog: EventLog;
  logger: Logger;
  keepAliveMs: number;
  /** A client whose unsent output exceeds this is disconnected (it can resume); others are not held up. */
  maxBufferedBytes: number;
  /** Whether the turn's workflow still runs; lets the bridge close a stream whose turn ended without a finish event. */
  isTurnRunning(turnId: string): Promise<boolean>;
  onEventDelivered?(event: StreamEvent): void;
}

export interface TurnStreamRequest {
  turnId: string;
  messageId: string;
  afterId?: string;
  modernClient: boolean;
  /** The client runs ai ≥ 6: approval chunks, and the response ends while the turn waits for an approval. */
  approvalChunks?: boolean;
  protocol?: StreamProtocol;
  /** Extra events sent before the log (e.g. a cached answer with no log left). */
  prelude?: StreamEvent[];
  /** Send no log at all: the prelude is the whole stream. */
  preludeOnly?: boolean;
  /** A log with no end (a conversation's events): no start chunk, and no check that a turn still runs. */
  follow?: boolean;
}

export async function pipeTurnStream(request: Request, response: Response, turn: TurnStreamRequest, dependencies: TurnStreamDependencies): Promise<void> {
  const { hub, eventLog, logger } = dependencies;
  const framing = createFraming(turn.protocol ?? 'ui-message-stream', { modernClient: turn.modernClient, approvalChunks: turn.approvalChunks === true });
  // The last event sent made the turn wait for an approval: a client that answers with its next
  // request stops reading there (once nothing newer is in the log).
  let pausedAtApproval: string[] | undefined;
  const endAtPause = () => {
    if (ended || !pausedAtApproval) return;
    write(framing.pauseEnd(pausedAtApproval));
    finish(true);
  };
  const afterId = framing.resumable ? turn.afterId : undefined;
  let lastId = afterId ?? '0-0';
  let ended = false;
  // Live events are held while the log is being read (at the start, and after every reconnect of the
  // subscriber), then delivered in order: an event is sent once, after every event before it.
  let catchingUp = true;
  let catchUpAgain = false;
  const held: LoggedStreamEvent[] = [];
  // Assigned once the subscription and keep-alive exist; `finish` may run before either does.
  const resources: { unsubscribe?: () => void; keepAlive?: NodeJS.Timeout } = {};

  const finish = (complete: boolean) => {
    if (ended) return;
    ended = true;
    resources.unsubscribe?.();
    if (resources.keepAlive) clearInterval(resources.keepAlive);
    if (complete && !response.destroyed) response.end(framing.end);
  };
  // The response's `close` fires when the client goes away, whenever that is (the request's own
  // `close` fires once its body was read, which for a POST is long before).
  response.on('close', () => finish(false));

  response.writeHead(200, framing.headers);
  if (framing.preamble) response.write(framing.preamble);

  // Writes within one tick (a batch of events from one Redis message, a catch-up) leave as one
  // socket write: the response is corked at the first and uncorked on the next tick.
  let corked = false;
  const write = (bytes: string) => {
    if (bytes) {
      if (!corked) {
        corked = true;
        response.cork();
        process.nextTick(() => {
          corked = false;
          response.uncork();
        });
      }
      response.write(bytes);
    }
    if (response.writableLength > dependencies.maxBufferedBytes) {
      logger.warn({ turnId: turn.turnId, buffered: response.writableLength }, 'slow SSE client disconnected; it can resume');
      finish(false);
      response.destroy();
    }
  };

  const deliver = (entry: LoggedStreamEvent) => {
    if (ended || compareEntryIds(entry.id, lastId) <= 0) return;
    lastId = entry.id;
    write(framing.event(entry.event, entry.id));
    dependencies.onEventDelivered?.(entry.event);
    if (isTerminal(entry.event)) finish(true);
    pausedAtApproval = framing.endsAtApprovalPause && entry.event.kind === 'turn-awaiting-approval' ? entry.event.approvalIds : undefined;
    if (!catchingUp) endAtPause();
  };

  /**
   * Reads the log after the last event sent, then the events held meanwhile, then goes live. A
   * failed read is retried (a Redis that just reconnected may still refuse), so a stream never
   * skips a gap; a reconnect during a catch-up runs another one after it.
   */
  const catchUp = async (): Promise<void> => {
    catchingUp = true;
    for (let attempt = 0; !ended; attempt++) {
      catchUpAgain = false;
      try {
        for (const entry of await eventLog.readAfter(turn.turnId, lastId === '0-0' ? undefined : lastId)) deliver(entry);
      } catch (error) {
        logger.warn({ turnId: turn.turnId, attempt, error: String(error) }, 'reading the turn log failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        continue;
      }
      if (catchUpAgain) continue;
      held.sort((left, right) => compareEntryIds(left.id, right.id));
      for (const entry of held.splice(0)) deliver(entry);
      catchingUp = false;
      endAtPause();
      return;
    }
  };

  if (!afterId && !turn.follow) write(framing.start(turn.messageId));
  for (const event of turn.prelude ?? []) {
    write(framing.event(event));
    if (isTerminal(event)) finish(true);
  }
  if (turn.preludeOnly || ended) return finish(true);

  resources.unsubscribe = await hub.subscribe(eventLog.keys(turn.turnId).channel, {
    onEvent: (entry) => (catchingUp ? held.push(entry) : deliver(entry)),
    onResync: () => {
      if (catchingUp) catchUpAgain = true;
      else void catchUp();
    },
  });
  if (ended) return resources.unsubscribe();
  await catchUp();
  if (ended) return;

  resources.keepAlive = setInterval(() => {
    if (ended) return;
    response.write(framing.keepAlive);
    if (turn.follow) return;
    void dependencies
      .isTurnRunning(turn.turnId)
      .then(async (running) => {
        if (running || ended) return;
        await catchUp();
        if (ended) return;
        logger.warn({ turnId: turn.turnId }, 'turn ended without a finish event; closing its stream');
        write(framing.event({ kind: 'error', errorText: 'The turn ended unexpectedly.' }));
        write(framing.event({ kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } }));
        finish(true);
      })
      .catch(() => undefined);
  }, dependencies.keepAliveMs);
}
