/**
 * ALLOWED_TYPES: which files are accepted, by MIME type (`application/pdf`, `image/*`)
 * and/or by name extension (`.pdf`). A file passes when it matches any entry; an empty list
 * accepts everything. Checked with every request of an upload (it is a string comparison),
 * so the first one is refused already, before any byte is stored.
 */
import { UploadError } from './errors.js';

export class TypeAllowlist {
  private readonly exactTypes = new Set<string>();
  private readonly typePrefixes: string[] = [];
  private readonly extensions = new Set<string>();

  constructor(setting: string) {
    for (const raw of setting.split(',')) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      if (entry.startsWith('.')) this.extensions.add(entry);
      else if (entry.endsWith('/*')) this.typePrefixes.push(entry.slice(0, -1));
      else this.exactTypes.add(entry);
    }
  }

  get allowsEverything(): boolean {
    return this.exactTypes.size + this.typePrefixes.length + this.extensions.size === 0;
  }

  allows(name: string, type: string): boolean {
    if (this.allowsEverything) return true;
    const mime = type.split(';')[0]!.trim().toLowerCase();
    if (mime !== '' && (this.exactTypes.has(mime) || this.typePrefixes.some((prefix) => mime.startsWith(prefix)))) return true;
    const dot = name.lastIndexOf('.');
    return dot > 0 && this.extensions.has(name.slice(dot).toLowerCase());
  }

  check(name: string, type: string): void {
    if (!this.allows(name, type)) {
      throw new UploadError('type_not_allowed', `Files of type "${type || 'unknown'}" named like "${name}" are not accepted here`);
    }
  }
}

/** The syntax ALLOWED_TYPES accepts (config.ts validates with it). */
export const ALLOWED_TYPES_ENTRY = /^(\.[A-Za-z0-9_+-]{1,32}|[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}))$/i;
