/**
 * Fans upload events out to this instance's listeners: state changes from the Redis
 * channel the state store's scripts publish on, merge progress from BullMQ's QueueEvents.
 * Both reach every instance, so a client sees events caused on any ingest or worker.
 * Each event is turned into its public text once, however many listeners get it.
 */
import type { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import { isMergeProgress, publicEvent, type UploadEvent } from '../../core/events.js';
import type { RedisConnection } from '../../state/script-loader.js';

export interface EventFilter {
  scope: string;
  /** Only these uploads (key hashes); every upload of the scope when absent. */
  keyHashes?: ReadonlySet<string>;
}

/** Gets an event's server-sent-event text, serialised once for all listeners. */
export type EventListener = (event: UploadEvent, text: () => string) => void;

export class UploadEventHub {
  private readonly listeners = new Map<EventListener, EventFilter>();

  constructor(
    private readonly subscriber: RedisConnection,
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
      if (!isMergeProgress(data) || data.early) return;
      const { keyHash, scope, identifier, uploadId, percent } = data;
      this.dispatch({ type: 'progress', keyHash, scope, identifier, uploadId, state: 'merging', percent });
    });
    await Promise.all([this.subscriber.subscribe(this.channel), this.queueEvents.waitUntilReady()]);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(filter: EventFilter, listener: EventListener): () => void {
    this.listeners.set(listener, filter);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.queueEvents.close();
    this.subscriber.disconnect();
  }

  private dispatch(event: UploadEvent): void {
    let text: string | undefined;
    const serialise = () => (text ??= `event: ${event.type}\ndata: ${JSON.stringify(publicEvent(event))}\n\n`);
    for (const [listener, filter] of this.listeners) {
      if (filter.scope !== event.scope) continue;
      if (filter.keyHashes !== undefined && !filter.keyHashes.has(event.keyHash)) continue;
      listener(event, serialise);
    }
  }
}
