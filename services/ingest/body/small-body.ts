/**
 * Small form and text bodies some libraries send besides their chunks: Fine Uploader's
 * finalising POST (urlencoded) and FilePond's revert (the upload id as plain text). Read
 * with koa-body, at most 16 KiB: never a chunk body.
 */
import type { Context } from 'koa';
import { HttpMethodEnum, koaBody } from 'koa-body';
import { UploadError } from '../../core/errors.js';

const LIMIT = '16kb';

const parser = koaBody({
  multipart: false,
  urlencoded: true,
  json: true,
  text: true,
  formLimit: LIMIT,
  jsonLimit: LIMIT,
  textLimit: LIMIT,
  // FilePond's revert is a DELETE with a body (koa-body reads POST, PUT and PATCH bodies only by default).
  parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH, HttpMethodEnum.DELETE],
  onError: (err) => {
    throw new UploadError('malformed_body', `The body could not be read: ${err.message}`, { cause: err });
  },
});

export type SmallBody = { form: Record<string, string> } | { text: string };

export function isSmallBodyType(ctx: Context): boolean {
  return Boolean(ctx.is('application/x-www-form-urlencoded', 'text/plain', 'application/json'));
}

export async function readSmallBody(ctx: Context): Promise<SmallBody> {
  await parser(ctx, async () => undefined);
  const body = (ctx.request as { body?: unknown }).body;
  if (typeof body === 'string') return { text: body };
  const form: Record<string, string> = {};
  for (const [key, value] of Object.entries((body as Record<string, unknown>) ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string' || typeof first === 'number') form[key] = String(first);
  }
  return { form };
}
