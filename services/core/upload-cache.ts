/**
 * Which upload id each recent upload key had, as this process last saw it. Requests
 * pass it to the state store as the upload they believe they continue: if the store no
 * longer has it (Redis restarted empty, or the upload expired while its client kept
 * going), the client is told to start again instead of filling an upload that can never
 * complete. Bounded; a miss only means a new upload cannot be told from a lost one.
 */
export class UploadIdCache {
  private readonly ids = new Map<string, string>();

  constructor(private readonly capacity = 100_000) {}

  get(keyHash: string): string | undefined {
    return this.ids.get(keyHash);
  }

  set(keyHash: string, uploadId: string): void {
    if (this.ids.get(keyHash) === uploadId) return;
    this.ids.delete(keyHash);
    if (this.ids.size >= this.capacity) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(keyHash, uploadId);
  }

  delete(keyHash: string): void {
    this.ids.delete(keyHash);
  }
}
