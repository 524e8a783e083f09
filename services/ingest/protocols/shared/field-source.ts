/**
 * Where a request's protocol fields come from: multipart fields first, then the query
 * string (resumable.js repeats its multipart fields in the query; octet bodies have only
 * the query). A field given twice takes its first value.
 */
export type RawFields = Record<string, unknown>;

export class FieldSource {
  constructor(private readonly sources: RawFields[]) {}

  first(name: string): string | undefined {
    for (const source of this.sources) {
      let value = source[name];
      if (Array.isArray(value)) value = value[0];
      if (typeof value === 'string') return value;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.first(name) !== undefined;
  }
}
