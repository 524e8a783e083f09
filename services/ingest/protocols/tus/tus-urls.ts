/**
 * Upload URLs. `Location` is absolute by default, built from how the client reached us: the
 * scheme and host a TLS-terminating proxy reports (`Forwarded`, `X-Forwarded-Proto`,
 * `X-Forwarded-Host`) are believed only with TRUST_PROXY; or path-absolute when
 * TUS_RELATIVE_LOCATION says so (tus-js-client resolves either against its endpoint).
 */
import type { Context } from 'koa';
import { UPLOAD_ID } from './tus-headers.js';

export interface TusUrlOptions {
  /** TUS_PATH, with its trailing slash: `/files/`. */
  path: string;
  relativeLocation: boolean;
  trustProxy: boolean;
}

/** The first `proto=` and `host=` of an RFC 7239 Forwarded header. */
function forwarded(ctx: Context): { proto?: string; host?: string } {
  const first = ctx.get('forwarded').split(',')[0] ?? '';
  const found: { proto?: string; host?: string } = {};
  for (const pair of first.split(';')) {
    const [key, raw = ''] = pair.trim().split('=');
    const value = raw.replace(/^"|"$/g, '');
    if (key?.toLowerCase() === 'proto' && /^https?$/i.test(value)) found.proto = value.toLowerCase();
    if (key?.toLowerCase() === 'host' && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(value)) found.host = value;
  }
  return found;
}

export function origin(ctx: Context, options: TusUrlOptions): string {
  if (!options.trustProxy) return `${ctx.protocol}://${ctx.host}`;
  const standard = forwarded(ctx);
  // Koa already reads X-Forwarded-Proto and X-Forwarded-Host when it trusts the proxy.
  return `${standard.proto ?? ctx.protocol}://${standard.host ?? ctx.host}`;
}

export function uploadLocation(ctx: Context, options: TusUrlOptions, id: string): string {
  return options.relativeLocation ? `${options.path}${id}` : `${origin(ctx, options)}${options.path}${id}`;
}

/** The upload id an upload URL of this endpoint names (absolute or path-absolute), if any. */
export function idFromUrl(ctx: Context, options: TusUrlOptions, url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url, origin(ctx, options)).pathname;
  } catch {
    return undefined;
  }
  if (!pathname.startsWith(options.path)) return undefined;
  const id = pathname.slice(options.path.length);
  return UPLOAD_ID.test(id) ? id : undefined;
}
