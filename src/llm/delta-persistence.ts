/**
 * Optional batched persistence of streamed deltas (off by default): the text streamed so far is
 * also written to Postgres every `intervalMs` or `minChars`, so an operator can read a long answer
 * in progress from the database. The batches are removed when the turn's final message is written
 * (compaction); the Redis log remains the replay source for clients.
 *
 * A failed write never fails the hop (the seed's "database save failure: continue streaming"): the
 * text stays pending and goes out with the next batch; the final message is stored by the workflow
 * either way.
 */
import type { ChatRepository } from '../db/chat-repository';
import type { Logger } from '../logger';

export interface DeltaPersistenceOptions {
  enabled: boolean;
  intervalMs: number;
  minChars: number;
}

export const DELTA_PERSISTENCE_DEFAULTS: DeltaPersistenceOptions = { enabled: false, intervalMs: 200, minChars: 1024 };

export interface DeltaBatchKey {
  conversationId: string;
  turnId: string;
  hop: number;
  attempt: number;
  /** The request id of the n-th batch (`requestIds.deltaBatch`). */
  requestIdOf(batch: number): string;
}

export class DeltaBatcher {
  private pending = '';
  private lastFlush = performance.now();
  private batches = 0;

  constructor(
    private readonly chats: ChatRepository,
    private readonly options: DeltaPersistenceOptions,
    private readonly logger: Logger,
    private readonly key: DeltaBatchKey,
  ) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Adds a delta; flushes when the interval passed or enough characters are pending. */
  async add(delta: string): Promise<void> {
    if (!this.options.enabled) return;
    this.pending += delta;
    if (performance.now() - this.lastFlush >= this.options.intervalMs || this.pending.length >= this.options.minChars) await this.flush();
  }

  /** Writes the pending text as one batch; on failure it stays pending for the next one. */
  async flush(): Promise<void> {
    if (!this.options.enabled || this.pending === '') return;
    const content = this.pending;
    this.lastFlush = performance.now();
    const { conversationId, turnId, hop, attempt } = this.key;
    try {
      await this.chats.appendEvent({
        conversationId,
        type: 'delta',
        role: 'assistant',
        requestId: this.key.requestIdOf(this.batches),
        turnId,
        content: { text: content },
        extra: { hop, attempt, batched: true },
      });
      this.batches += 1;
      this.pending = this.pending.slice(content.length);
    } catch (error) {
      this.logger.warn({ turnId, hop, attempt, error: String(error) }, 'delta batch not persisted; it goes out with the next one');
    }
  }
}
