/**
 * Optional batched persistence of streamed deltas (off by default): the text streamed so far is
 * also written to Postgres every `intervalMs` or `minChars`, so an operator can read a long answer
 * in progress from the database. The batches are removed when the turn's final message is written
 * (compaction); the Redis log remains the replay source for clients.
 */
import type { ChatRepository } from '../db/chat-repository';

export interface DeltaPersistenceOptions {
  enabled: boolean;
  intervalMs: number;
  minChars: number;
}

export const DELTA_PERSISTENCE_DEFAULTS: DeltaPersistenceOptions = { enabled: false, intervalMs: 200, minChars: 1024 };

export class DeltaBatcher {
  private pending = '';
  private lastFlush = performance.now();
  private batches = 0;

  constructor(
    private readonly chats: ChatRepository,
    private readonly options: DeltaPersistenceOptions,
    private readonly key: { conversationId: string; turnId: string; hop: number; attempt: number },
  ) {}

  /** Adds a delta; flushes when the interval passed or enough characters are pending. */
  async add(delta: string): Promise<void> {
    if (!this.options.enabled) return;
    this.pending += delta;
    if (performance.now() - this.lastFlush >= this.options.intervalMs || this.pending.length >= this.options.minChars) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.options.enabled || this.pending === '') return;
    const content = this.pending;
    this.pending = '';
    this.lastFlush = performance.now();
    const { conversationId, turnId, hop, attempt } = this.key;
    await this.chats.appendEvent({
      conversationId,
      type: 'delta',
      role: 'assistant',
      requestId: `delta:${turnId}:${hop}:${attempt}:${this.batches++}`,
      turnId,
      content: { text: content },
      extra: { hop, attempt, batched: true },
    });
  }
}
