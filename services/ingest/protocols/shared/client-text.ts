/**
 * Checks for the text clients send about their files: identifiers, file names, relative
 * paths, MIME types. Shared by every adapter, so each protocol refuses the same dangerous
 * values and accepts the same unusual but legitimate ones.
 *
 * Refused: control characters; invisible format characters that disguise a name (bidi
 * overrides turning `evil.exe` into `exe.live`, zero-width spaces making two names look
 * alike, tag characters hiding text); path separators, also once NFKC folds look-alikes
 * (fullwidth solidus) and the look-alikes NFKC leaves alone (division slash U+2215,
 * fraction slash U+2044, big solidus U+29F8...). Accepted: the joiners real scripts need
 * (Persian's zero-width non-joiner, emoji's zero-width joiner) and soft hyphens.
 */
import { UploadError } from '../../../core/errors.js';

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Format characters (\p{Cf}) but the soft hyphen (U+00AD), ZWNJ (U+200C) and ZWJ (U+200D).
const HIDDEN_FORMAT = /(?![\u00ad\u200c\u200d])\p{Cf}/u;
const SEPARATOR = /[/\\]/;
const SEPARATOR_LOOKALIKE = /[\u2044\u2215\u2216\u2571\u2572\u29f5\u29f8\u29f9\u3033\u3035\ufe68\uff0f\uff3c]/u;
// Both libraries' default identifiers are `[0-9A-Za-z_-]`; custom ones add `.~:@+=,`.
const IDENTIFIER = /^[\x21-\x7e]{1,255}$/;

function refuse(field: string, problem: string): never {
  throw new UploadError('invalid_field', `${field} ${problem}`);
}

/** Plain text within a byte limit, without control characters. */
export function checkText(field: string, value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) > maxBytes) refuse(field, `is longer than ${maxBytes} bytes`);
  if (CONTROL.test(value)) refuse(field, 'contains control characters');
  return value;
}

export function checkIdentifier(field: string, value: string): string {
  if (value === '') throw new UploadError('missing_field', `${field} is missing`);
  if (!IDENTIFIER.test(value) || SEPARATOR.test(value)) refuse(field, 'must be 1-255 printable ASCII characters without spaces, / or \\');
  return value;
}

/** A file name: never a path, however it is spelt. */
export function checkFilename(field: string, value: string): string {
  checkText(field, value, 255);
  if (value === '') throw new UploadError('missing_field', `${field} is missing`);
  if (HIDDEN_FORMAT.test(value)) refuse(field, 'contains invisible formatting characters');
  const folded = value.normalize('NFKC');
  if (SEPARATOR.test(folded) || SEPARATOR_LOOKALIKE.test(folded) || folded === '.' || folded === '..') {
    refuse(field, 'must be a plain file name, without / or \\ (or characters that look like them)');
  }
  return value;
}

/** A path inside a dropped folder: relative, no empty, `.` or `..` segments. */
export function checkRelativePath(field: string, value: string): string {
  checkText(field, value, 1024);
  if (HIDDEN_FORMAT.test(value)) refuse(field, 'contains invisible formatting characters');
  const folded = value.normalize('NFKC');
  const segments = folded.split('/');
  if (folded.includes('\\') || SEPARATOR_LOOKALIKE.test(folded) || /^[A-Za-z]:/.test(folded) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    refuse(field, 'must be a relative path without empty, . or .. segments');
  }
  return value;
}

/** A MIME type as browsers report it (may be empty). */
export function checkMimeType(field: string, value: string): string {
  checkText(field, value, 127);
  if (value !== '' && !/^[\x21-\x7e]+\/[\x20-\x7e]+$/.test(value)) refuse(field, 'is not a MIME type');
  return value;
}

/** A whole number of at least `min`, written in decimal digits only. */
export function parseWholeNumber(field: string, text: string | undefined, min: number): number {
  if (text === undefined || text === '') throw new UploadError('missing_field', `${field} is missing`);
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) refuse(field, `must be a whole number of at least ${min}`);
  return value;
}
