/**
 * The one place a client's filename becomes part of a path: the name a merged file is
 * published under, inside its own `files/<upload id>/` folder. The name stays
 * recognisable, but cannot leave the folder, hide, or trip up common filesystems.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029/\\<>:"|?*\u2044\u2215\u2216\u29f8\u29f9\uff0f\uff3c]/gu;
// Names Windows keeps for devices, also with an extension or spaces before it (`CON .txt`
// is CON), and with superscript digits, which Windows counts as digits (`COM¹`).
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|clock\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])\s*(\..*)?$/i;
const MAX_BYTES = 200;

export function sanitizeFilename(original: string): string {
  let name = original.normalize('NFC').replace(UNSAFE_CHARACTERS, '_');
  // No leading dots (hidden files, `..`; merge temp files start with a dot) or spaces,
  // and no trailing dots or spaces, which Windows drops.
  name = name.replace(/^[.\s]+/u, '').replace(/[.\s]+$/u, '');
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  name = truncateBytes(name, MAX_BYTES);
  return name === '' ? 'file' : name;
}

/** Cuts to at most `max` UTF-8 bytes, keeping the extension and never splitting a character. */
function truncateBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = name.slice(0, name.length - extension.length);
  while (Buffer.byteLength(stem + extension) > max) stem = [...stem].slice(0, -1).join('');
  return stem + extension;
}
