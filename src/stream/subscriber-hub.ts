/**
 * One Redis subscriber connection per API process (per shard on a Redis Cluster), shared by every
 * SSE client: clients register a listener per turn channel; the hub subscribes a channel on its
 * first listener, unsubscribes after its last, and decodes each message once for all of them.
 *
 * On one server the channels are plain pub/sub (SUBSCRIBE). On a cluster they are shard channels
 * (SSUBSCRIBE, Redis ≥ 7): a turn's channel lives on the shard that holds its log, and ioredis keeps
 * one subscriber connection per master (`shardedSubscribers`), so a message crosses no cluster bus.
 */
import type { RedisClient } from '../clients';
import type { LoggedStreamEvent } from '../shared/stream-events';
import { decodeLiveMessages } from './event-log';

export interface ChannelListener {
  onEvent(entry: LoggedStreamEvent): void;
  /** Called after the subscriber reconnected: messages may have been missed, re-read the log. */
  onResync(): void;
}

export class SubscriberHub {
  private readonly listeners = new Map<string, Set<ChannelListener>>();
  private readonly pending = new Map<string, Promise<unknown>>();
  private connectedOnce = false;

  private readonly sharded: boolean;

  constructor(private readonly subscriber: RedisClient) {
    this.sharded = subscriber.isCluster;
    const onMessage = (channel: string, message: string) => {
      const channelListeners = this.listeners.get(channel);
      if (!channelListeners || channelListeners.size === 0) return;
      // One message may carry a batch of events: each listener gets them in order.
      for (const entry of decodeLiveMessages(message)) for (const listener of channelListeners) listener.onEvent(entry);
    };
    const resync = () => {
      for (const set of this.listeners.values()) for (const listener of set) listener.onResync();
    };
    if (this.sharded) {
      subscriber.on('smessage', onMessage);
      // A shard's subscriber connection dropped and ioredis replaced it (it re-subscribes the
      // shard's channels): messages may have been missed meanwhile, so every stream re-reads its log.
      subscriber.on('subscribersReady', resync);
    } else {
      subscriber.on('message', onMessage);
      subscriber.on('ready', () => {
        if (this.connectedOnce) resync();
        this.connectedOnce = true;
      });
    }
  }

  /** Registers a listener; resolves once the channel subscription is active. Returns the unsubscribe. */
  async subscribe(channel: string, listener: ChannelListener): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.pending.set(channel, this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel));
    }
    set.add(listener);
    await this.pending.get(channel);
    return () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(channel);
        this.pending.delete(channel);
        void (this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel)).catch(() => undefined);
      }
    };
  }

  /** Number of channels with listeners (for metrics and tests). */
  get channelCount(): number {
    return this.listeners.size;
  }
}
