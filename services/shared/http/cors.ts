import cors from '@koa/cors';
import type { Middleware } from 'koa';

/**
 * Cross-origin uploads (docs/protocols/README.md): both libraries listen to
 * upload progress, so every chunk POST from another origin is preflighted. Only the
 * configured origins get CORS headers; with credentials the exact origin is echoed.
 * With none configured nothing is added: same origin only.
 */
export function corsPolicy(originsSetting: string, credentials: boolean): Middleware | undefined {
  const origins = originsSetting.split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length === 0) return undefined;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('origin');
      if (anyOrigin && !credentials) return '*';
      return allowed.has(origin) || anyOrigin ? origin : '';
    },
    credentials,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    // What the supported libraries send (docs/protocols/): tus's headers, FilePond's, Dropzone's and Fine Uploader's.
    allowHeaders: [
      'Authorization', 'Content-Type', 'X-Upload-Token', 'X-Request-Id', 'X-Requested-With', 'Cache-Control',
      'Tus-Resumable', 'Upload-Length', 'Upload-Metadata', 'Upload-Offset', 'Upload-Concat', 'Upload-Checksum', 'Upload-Defer-Length',
      'X-HTTP-Method-Override', 'Upload-Name',
    ],
    // What they must read from answers: tus's Location and offsets, FilePond's offset.
    exposeHeaders: ['X-Request-Id', 'Location', 'Upload-Offset', 'Upload-Length', 'Upload-Expires', 'Upload-Metadata', 'Upload-Concat', 'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Checksum-Algorithm'],
    maxAge: 600,
  });
}
