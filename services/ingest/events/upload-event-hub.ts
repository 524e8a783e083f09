/**
 * Fans upload events out to this instance's listeners: state changes from the Redis
 * channel the Lua scripts publish on, merge progress from BullMQ's QueueEvents. Both
 * reach every instance, so a client sees events caused on any ingest or worker.
 */
import type { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isMergeProgress, type UploadEvent } from '../../shared/upload-events.js';

export interface EventFilter {
  scope: string;
  /** One upload; all of the scope's uploads when absent. */
  keyHash?: string;
}

type Listener = (event: UploadEvent) => void;

export class UploadEventHub {
  private readonly listeners = new Map<Listener, EventFilter>();
  private readonly closeHandlers = new Set<() => void>();

  constructor(
    private readonly subscriber: Redis,
    private readonly queueEvents: QueueEvents,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        this.dispatch(JSON.parse(message) as UploadEvent);
      } catch (err) {
        this.logger.warn({ err }, 'unreadable upload event');
      }
    });
    this.queueEvents.on('progress', ({ data }) => {
      if (!isMergeProgress(data)) return;
      const { keyHash, scope, identifier, uploadId, percent } = data;
      this.dispatch({ type: 'progress', keyHash, scope, identifier, uploadId, state: 'merging', percent });
    });
    await Promise.all([this.subscriber.subscribe(this.channel), this.queueEvents.waitUntilReady()]);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(filter: EventFilter, listener: Listener, onClose: () => void): () => void {
    this.listeners.set(listener, filter);
    this.closeHandlers.add(onClose);
    return () => {
      this.listeners.delete(listener);
      this.closeHandlers.delete(onClose);
    };
  }

  /** Ends every stream (on shutdown, so the HTTP server can close). */
  async close(): Promise<void> {
    for (const onClose of [...this.closeHandlers]) onClose();
    await this.queueEvents.close();
    this.subscriber.disconnect();
  }

  private dispatch(event: UploadEvent): void {
    for (const [listener, filter] of this.listeners) {
      if (filter.scope !== event.scope) continue;
      if (filter.keyHash !== undefined && filter.keyHash !== event.keyHash) continue;
      listener(event);
    }
  }
}
