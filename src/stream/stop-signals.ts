/**
 * Stop in milliseconds, not heartbeats. The API publishes "stop" on the turn's stop channel next to
 * the durable workflow cancel, and the hop streaming that turn aborts its model request at once.
 * Cancellation through Temporal still follows (and covers a worker that missed the message): the
 * hop's heartbeat carries it, at the heartbeat throttle's pace.
 *
 * On one Redis server every worker process holds one pattern subscription for all turns. Sharded
 * pub/sub (Redis Cluster) has no patterns: there a worker subscribes the shard channel of each turn
 * it streams while a hop watches it (SSUBSCRIBE on the shard owning the turn, SUNSUBSCRIBE after the
 * hop), through one subscriber connection per shard. A stop sent in the few milliseconds before
 * that subscription is active reaches the hop through Temporal's cancellation instead.
 */
import type { RedisClient } from '../clients';
import { stopChannelPattern, turnIdOfStopChannel, turnStreamKeys } from './keys';

export interface StopWatch {
  signal: AbortSignal;
  dispose(): void;
}

export class StopSignals {
  private readonly watchers = new Map<string, Set<AbortController>>();
  private started: Promise<unknown> | undefined;

  private readonly sharded: boolean;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
  ) {
    this.sharded = subscriber.isCluster;
    const onStop = (channel: string) => {
      const turnId = turnIdOfStopChannel(this.keyPrefix, channel);
      if (turnId === undefined) return;
      for (const controller of this.watchers.get(turnId) ?? []) controller.abort(new TurnStoppedError());
    };
    if (this.sharded) subscriber.on('smessage', onStop);
    else subscriber.on('pmessage', (_pattern: string, channel: string) => onStop(channel));
  }

  /** Subscribes once (the pattern, on one server; nothing yet on a cluster); resolves when active. */
  start(): Promise<unknown> {
    this.started ??= this.sharded ? Promise.resolve() : this.subscriber.psubscribe(stopChannelPattern(this.keyPrefix));
    return this.started;
  }

  private channel(turnId: string): string {
    return turnStreamKeys(this.keyPrefix, turnId).stop;
  }

  /** A signal that aborts when a stop for the turn arrives; dispose it when the hop ends. */
  watch(turnId: string): StopWatch {
    const controller = new AbortController();
    let set = this.watchers.get(turnId);
    if (!set) {
      set = new Set();
      this.watchers.set(turnId, set);
      if (this.sharded) void this.subscriber.ssubscribe(this.channel(turnId)).catch(() => undefined);
    }
    set.add(controller);
    return {
      signal: controller.signal,
      dispose: () => {
        set.delete(controller);
        if (set.size === 0 && this.watchers.get(turnId) === set) {
          this.watchers.delete(turnId);
          if (this.sharded) void this.subscriber.sunsubscribe(this.channel(turnId)).catch(() => undefined);
        }
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
export async function publishStop(redis: RedisClient, keyPrefix: string, turnId: string): Promise<void> {
  const channel = turnStreamKeys(keyPrefix, turnId).stop;
  await (redis.isCluster ? redis.spublish(channel, '1') : redis.publish(channel, '1'));
}
