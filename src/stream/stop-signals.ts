/**
 * Stop in milliseconds, not heartbeats. The API publishes "stop" on the turn's stop channel next to
 * the durable workflow cancel; every worker process holds one pattern subscription for all turns,
 * and the hop streaming that turn aborts its model request at once. Cancellation through Temporal
 * still follows (and covers a worker that missed the message): the hop's heartbeat carries it, at
 * the heartbeat throttle's pace.
 */
import type { Redis } from 'ioredis';
import { stopChannelPattern, turnIdOfStopChannel, turnStreamKeys } from './keys';

export interface StopWatch {
  signal: AbortSignal;
  dispose(): void;
}

export class StopSignals {
  private readonly watchers = new Map<string, Set<AbortController>>();
  private started: Promise<unknown> | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly keyPrefix: string,
  ) {
    subscriber.on('pmessage', (_pattern: string, channel: string) => {
      const turnId = turnIdOfStopChannel(this.keyPrefix, channel);
      if (turnId === undefined) return;
      for (const controller of this.watchers.get(turnId) ?? []) controller.abort(new TurnStoppedError());
    });
  }

  /** Subscribes once; resolves when the subscription is active. */
  start(): Promise<unknown> {
    this.started ??= this.subscriber.psubscribe(stopChannelPattern(this.keyPrefix));
    return this.started;
  }

  /** A signal that aborts when a stop for the turn arrives; dispose it when the hop ends. */
  watch(turnId: string): StopWatch {
    const controller = new AbortController();
    let set = this.watchers.get(turnId);
    if (!set) {
      set = new Set();
      this.watchers.set(turnId, set);
    }
    set.add(controller);
    return {
      signal: controller.signal,
      dispose: () => {
        set.delete(controller);
        if (set.size === 0 && this.watchers.get(turnId) === set) this.watchers.delete(turnId);
      },
    };
  }
}

/** The abort reason of a hop stopped by the user. */
export class TurnStoppedError extends Error {
  constructor() {
    super('Stopped by the user');
    this.name = 'TurnStoppedError';
  }
}

/** Tells the worker streaming the turn to stop now (the API calls it before cancelling the workflow). */
export async function publishStop(redis: Redis, keyPrefix: string, turnId: string): Promise<void> {
  await redis.publish(turnStreamKeys(keyPrefix, turnId).stop, '1');
}
