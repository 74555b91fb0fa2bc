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
import type { ChannelListener, SubscriberHub } from '../../stream/subscriber-hub';
import { isTerminal, type LoggedStreamEvent, type StreamEvent } from '../../shared/stream-events';
import { createFraming, type StreamFraming, type StreamProtocol } from './stream-framing';

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
  await new TurnStreamBridge(response, turn, dependencies).run();
  // The stream outlives its route: Express's `req.next` would keep the state of every router level
  // the request passed through (about 1 KiB each) for as long as the client stays connected.
  (request as { next?: unknown }).next = undefined;
}

/**
 * One client's stream. A class, not a set of closures: an idle stream holds its state and no
 * function objects of its own (under tsx, each named closure also carries its own `name`, about
 * 300 bytes per closure per open stream).
 */
class TurnStreamBridge implements ChannelListener {
  private readonly framing: StreamFraming;
  // The last event sent made the turn wait for an approval: a client that answers with its next
  // request stops reading there (once nothing newer is in the log).
  private pausedAtApproval: string[] | undefined;
  private lastId: string;
  private ended = false;
  // Live events are held while the log is being read (at the start, and after every reconnect of the
  // subscriber), then delivered in order: an event is sent once, after every event before it.
  private catchingUp = true;
  private catchUpAgain = false;
  private readonly held: LoggedStreamEvent[] = [];
  // Set once the subscription and keep-alive exist; `finish` may run before either does.
  private unsubscribe: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private corked = false;

  constructor(
    private readonly response: Response,
    private readonly turn: TurnStreamRequest,
    private readonly dependencies: TurnStreamDependencies,
  ) {
    this.framing = createFraming(turn.protocol ?? 'ui-message-stream', { modernClient: turn.modernClient, approvalChunks: turn.approvalChunks === true });
    this.lastId = this.afterId ?? '0-0';
  }

  private get afterId(): string | undefined {
    return this.framing.resumable ? this.turn.afterId : undefined;
  }

  async run(): Promise<void> {
    const { response, turn, framing, dependencies } = this;
    // The response's `close` fires when the client goes away, whenever that is (the request's own
    // `close` fires once its body was read, which for a POST is long before).
    response.on('close', () => this.finish(false));

    response.writeHead(200, framing.headers);
    if (framing.preamble) response.write(framing.preamble);

    if (!this.afterId && !turn.follow) this.write(framing.start(turn.messageId));
    for (const event of turn.prelude ?? []) {
      this.write(framing.event(event));
      if (isTerminal(event)) this.finish(true);
    }
    if (turn.preludeOnly || this.ended) return this.finish(true);

    this.unsubscribe = await dependencies.hub.subscribe(dependencies.eventLog.keys(turn.turnId).channel, this);
    if (this.ended) return this.unsubscribe();
    await this.catchUp();
    if (this.ended) return;

    this.keepAlive = setInterval(() => this.sendKeepAlive(), dependencies.keepAliveMs);
  }

  /** A live event from the hub: held while the log is being read, delivered otherwise. */
  onEvent(entry: LoggedStreamEvent): void {
    if (this.catchingUp) this.held.push(entry);
    else this.deliver(entry);
  }

  /** The hub's subscriber reconnected: messages may have been missed, so the log is read again. */
  onResync(): void {
    if (this.catchingUp) this.catchUpAgain = true;
    else void this.catchUp();
  }

  private finish(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe?.();
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (complete && !this.response.destroyed) this.response.end(this.framing.end);
  }

  private endAtPause(): void {
    if (this.ended || !this.pausedAtApproval) return;
    this.write(this.framing.pauseEnd(this.pausedAtApproval));
    this.finish(true);
  }

  /**
   * Writes within one tick (a batch of events from one Redis message, a catch-up) leave as one
   * socket write: the response is corked at the first and uncorked on the next tick.
   */
  private write(bytes: string): void {
    const { response } = this;
    if (bytes) {
      if (!this.corked) {
        this.corked = true;
        response.cork();
        process.nextTick(() => {
          this.corked = false;
          response.uncork();
        });
      }
      response.write(bytes);
    }
    if (response.writableLength > this.dependencies.maxBufferedBytes) {
      this.dependencies.logger.warn({ turnId: this.turn.turnId, buffered: response.writableLength }, 'slow SSE client disconnected; it can resume');
      this.finish(false);
      response.destroy();
    }
  }

  private deliver(entry: LoggedStreamEvent): void {
    if (this.ended || compareEntryIds(entry.id, this.lastId) <= 0) return;
    this.lastId = entry.id;
    this.write(this.framing.event(entry.event, entry.id));
    this.dependencies.onEventDelivered?.(entry.event);
    if (isTerminal(entry.event)) this.finish(true);
    this.pausedAtApproval = this.framing.endsAtApprovalPause && entry.event.kind === 'turn-awaiting-approval' ? entry.event.approvalIds : undefined;
    if (!this.catchingUp) this.endAtPause();
  }

  /**
   * Reads the log after the last event sent, then the events held meanwhile, then goes live. A
   * failed read is retried (a Redis that just reconnected may still refuse), so a stream never
   * skips a gap; a reconnect during a catch-up runs another one after it.
   */
  private async catchUp(): Promise<void> {
    const { turn, dependencies } = this;
    this.catchingUp = true;
    for (let attempt = 0; !this.ended; attempt++) {
      this.catchUpAgain = false;
      try {
        for (const entry of await dependencies.eventLog.readAfter(turn.turnId, this.lastId === '0-0' ? undefined : this.lastId)) this.deliver(entry);
      } catch (error) {
        dependencies.logger.warn({ turnId: turn.turnId, attempt, error: String(error) }, 'reading the turn log failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        continue;
      }
      if (this.catchUpAgain) continue;
      this.held.sort((left, right) => compareEntryIds(left.id, right.id));
      for (const entry of this.held.splice(0)) this.deliver(entry);
      this.catchingUp = false;
      this.endAtPause();
      return;
    }
  }

  /** The keep-alive; for a turn's stream also a check that the turn still runs. */
  private sendKeepAlive(): void {
    const { turn, dependencies } = this;
    if (this.ended) return;
    this.response.write(this.framing.keepAlive);
    if (turn.follow) return;
    void dependencies
      .isTurnRunning(turn.turnId)
      .then(async (running) => {
        if (running || this.ended) return;
        await this.catchUp();
        if (this.ended) return;
        dependencies.logger.warn({ turnId: turn.turnId }, 'turn ended without a finish event; closing its stream');
        this.write(this.framing.event({ kind: 'error', errorText: 'The turn ended unexpectedly.' }));
        this.write(this.framing.event({ kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } }));
        this.finish(true);
      })
      .catch(() => undefined);
  }
}
