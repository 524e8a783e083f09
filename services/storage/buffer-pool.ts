/**
 * Copy buffers shared by every merge of a worker process. A 1 MiB Buffer lives outside
 * V8's heap; allocating two per merge made V8 run a full GC every few merges to account
 * for them (30 per 256 small files). Reused, the pool holds two per merge running at once.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(readonly size: number) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
  }
}
