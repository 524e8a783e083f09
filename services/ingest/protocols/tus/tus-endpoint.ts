/**
 * The tus 1.0 endpoint (TUS_PATH, `/files/` by default), on the same upload core as every
 * other protocol: uploads created here are status-, event- and webhook-visible like the
 * rest, scoped by upload tokens, limited by quotas, and merged by the worker. Requests:
 *   OPTIONS /files/           capabilities
 *   POST    /files/           create (creation-with-upload, defer-length, concatenation)
 *   HEAD    /files/<id>       where to continue
 *   PATCH   /files/<id>       append at the offset (under the upload's write lock)
 *   DELETE  /files/<id>       terminate
 * `X-HTTP-Method-Override` turns a POST into any of these.
 */
import type { Middleware } from 'koa';
import { UploadError } from '../../../core/errors.js';
import type { AccessResolver } from '../../upload-access.js';
import { discardUnreadBody } from '../../body/body-limits.js';
import { TUS_VERSION, UPLOAD_ID } from './tus-headers.js';
import { tusCreate, tusHead, tusOptions, tusPatch, tusTerminate, type TusContext } from './tus-handlers.js';
import { renderTusError } from './tus-statuses.js';

const OVERRIDABLE = new Set(['PATCH', 'DELETE', 'HEAD', 'POST']);

/** A refused body is read (so the client reads the answer) up to this much, then the connection is closed. */
const DISCARD_CAP = 16 * 1024 * 1024;

export function tusEndpoint(tus: TusContext, accessOf: AccessResolver): Middleware {
  const base = tus.urls.path;
  const collection = base.slice(0, -1); // `/files` as well as `/files/`
  return async function serveTus(ctx, next) {
    if (ctx.path !== base && ctx.path !== collection && !ctx.path.startsWith(base)) return next();
    ctx.state.renderError = renderTusError;
    const id = ctx.path.length > base.length ? ctx.path.slice(base.length) : undefined;
    const override = ctx.method === 'POST' ? ctx.get('x-http-method-override').toUpperCase() : '';
    const method = OVERRIDABLE.has(override) ? override : ctx.method;
    try {
      if (method === 'OPTIONS') return tusOptions(ctx, tus);
      if (ctx.get('tus-resumable') !== TUS_VERSION) {
        throw new UploadError('unsupported_version', `Tus-Resumable must be ${TUS_VERSION}`);
      }
      if (id !== undefined && !UPLOAD_ID.test(id)) throw new UploadError('upload_not_found', 'No such upload');
      const access = await accessOf(ctx);
      if (id === undefined) {
        if (method !== 'POST') throw methodNotAllowed(ctx, 'POST, OPTIONS');
        return await tusCreate(ctx, tus, access);
      }
      switch (method) {
        case 'HEAD':
          return await tusHead(ctx, tus, access, id);
        case 'PATCH':
          return await tusPatch(ctx, tus, access, id);
        case 'DELETE':
          return await tusTerminate(ctx, tus, access, id);
        default:
          throw methodNotAllowed(ctx, 'HEAD, PATCH, DELETE, OPTIONS');
      }
    } catch (err) {
      // The client reads our answer only once it has sent its body.
      discardUnreadBody(ctx.req, DISCARD_CAP);
      throw err;
    }
  };
}

function methodNotAllowed(ctx: import('koa').Context, allowed: string): UploadError {
  ctx.set('Allow', allowed);
  return new UploadError('method_not_allowed');
}
