/**
 * One handler per tus request: create (POST, with creation-with-upload and concatenation),
 * HEAD, PATCH, terminate (DELETE), OPTIONS. Each reads its headers into the core's terms and
 * answers the headers tus-js-client requires (docs/protocols/tus.md).
 */
import type { Context } from 'koa';
import type { Access } from '../../../core/core-dependencies.js';
import { UploadError } from '../../../core/errors.js';
import type { UploadCore } from '../../../core/upload-core.js';
import type { UploadDeclaration, UploadRecord } from '../../../core/upload.js';
import { checkRelativePath } from '../shared/client-text.js';
import { CHECKSUM_ALGORITHMS, TUS_VERSION, checksumOf, concatOf, declaredLength, nameAndType, offsetOf, parseMetadata } from './tus-headers.js';
import { idFromUrl, uploadLocation, type TusUrlOptions } from './tus-urls.js';

export interface TusContext {
  core: UploadCore;
  urls: TusUrlOptions;
  maxSize: number;
  pieceStored(outcome: string, bytes: number): void;
}

const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';
const EXTENSIONS = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'concatenation', 'checksum', 'expiration'];

/** Upload-Expires, for an upload still receiving (a finished one no longer expires as idle). */
function setExpires(ctx: Context, expiresAt: number | undefined): void {
  if (expiresAt !== undefined && expiresAt > 0) ctx.set('Upload-Expires', new Date(expiresAt).toUTCString());
}

function expires(ctx: Context, upload: { state: string; expiresAt: number }): void {
  if (upload.state === 'receiving') setExpires(ctx, upload.expiresAt);
}

function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata).map(([key, value]) => (value === '' ? key : `${key} ${Buffer.from(value).toString('base64')}`)).join(',');
}

function declarationOf(ctx: Context, size: number | undefined, partial: boolean): UploadDeclaration {
  const metadata = parseMetadata(ctx.get('upload-metadata'));
  const { name, type } = nameAndType(metadata);
  const relativePath = metadata.relativePath ? checkRelativePath('Upload-Metadata relativePath', metadata.relativePath) : name;
  return { size, layout: { kind: 'append' }, name, relativePath, type, protocol: 'tus', metadata, ...(partial ? { partial } : {}) };
}

const hasBody = (ctx: Context) => ctx.get('content-length') !== '' ? Number(ctx.get('content-length')) > 0 : ctx.get('transfer-encoding') !== '';

export function tusOptions(ctx: Context, tus: TusContext): void {
  ctx.set({
    'Tus-Resumable': TUS_VERSION,
    'Tus-Version': TUS_VERSION,
    'Tus-Max-Size': String(tus.maxSize),
    'Tus-Extension': EXTENSIONS.join(','),
    'Tus-Checksum-Algorithm': CHECKSUM_ALGORITHMS.join(','),
  });
  ctx.status = 204;
}

export async function tusCreate(ctx: Context, tus: TusContext, access: Access): Promise<void> {
  const concat = concatOf(ctx.get('upload-concat'), (url) => idFromUrl(ctx, tus.urls, url));
  let created;
  if (concat?.kind === 'final') {
    if (hasBody(ctx)) throw new UploadError('invalid_field', 'A final upload takes no body');
    created = await tus.core.create(access, declarationOf(ctx, undefined, false), concat.ids);
  } else {
    created = await tus.core.create(access, declarationOf(ctx, declaredLength((name) => ctx.get(name)), concat?.kind === 'partial'));
  }
  ctx.status = 201;
  ctx.set('Tus-Resumable', TUS_VERSION);
  ctx.set('Location', uploadLocation(ctx, tus.urls, created.id));
  // creation-with-upload: the body is the upload's first bytes.
  if (ctx.is(OFFSET_OCTET_STREAM) && hasBody(ctx)) {
    const appended = await appendBody(ctx, tus, access, created.id, 0);
    ctx.set('Upload-Offset', String(appended.offset));
  }
  const upload = await tus.core.read(access, created.id);
  if (upload) expires(ctx, upload);
}

export async function tusHead(ctx: Context, tus: TusContext, access: Access, id: string): Promise<void> {
  const upload = await readLive(tus, access, id);
  ctx.set('Tus-Resumable', TUS_VERSION);
  ctx.set('Cache-Control', 'no-store');
  const complete = upload.state !== 'receiving';
  // A final upload has no offset of its own until its partials are all there.
  if (!upload.concatOf || complete) ctx.set('Upload-Offset', String(complete ? (upload.size ?? upload.prefix) : upload.prefix));
  if (upload.size !== undefined) ctx.set('Upload-Length', String(upload.size));
  else if (!upload.concatOf) ctx.set('Upload-Defer-Length', '1');
  if (Object.keys(upload.metadata).length > 0) ctx.set('Upload-Metadata', encodeMetadata(upload.metadata));
  if (upload.partial) ctx.set('Upload-Concat', 'partial');
  if (upload.concatOf) ctx.set('Upload-Concat', `final;${upload.concatOf.map((part) => uploadLocation(ctx, tus.urls, part)).join(' ')}`);
  expires(ctx, upload);
  ctx.status = 200;
}

export async function tusPatch(ctx: Context, tus: TusContext, access: Access, id: string): Promise<void> {
  if (!ctx.is(OFFSET_OCTET_STREAM)) throw new UploadError('unsupported_media_type', `A PATCH body must be ${OFFSET_OCTET_STREAM}`);
  const result = await appendBody(ctx, tus, access, id, offsetOf(ctx.get('upload-offset')));
  ctx.set('Tus-Resumable', TUS_VERSION);
  ctx.set('Upload-Offset', String(result.offset));
  // The expiry the write just set, from the same round trip: no second read of the record.
  setExpires(ctx, result.expiresAt);
  ctx.status = 204;
}

export async function tusTerminate(ctx: Context, tus: TusContext, access: Access, id: string): Promise<void> {
  await tus.core.cancel(access, id);
  ctx.set('Tus-Resumable', TUS_VERSION);
  ctx.status = 204;
}

async function appendBody(ctx: Context, tus: TusContext, access: Access, id: string, offset: number) {
  const declared = ctx.get('content-length');
  const size = ctx.get('upload-length');
  const checksum = checksumOf(ctx.get('upload-checksum'));
  const result = await tus.core.append({
    access,
    id,
    offset,
    ...(declared !== '' ? { length: Number(declared) } : {}),
    ...(size !== '' ? { size: offsetOf(size) } : {}),
    ...(checksum ? { checksum } : {}),
    body: ctx.req,
  });
  tus.pieceStored(result.completed ? 'completed' : 'stored', result.offset - offset);
  return result;
}

/** An upload the client may still talk to: gone (404) or ended (410) otherwise. */
async function readLive(tus: TusContext, access: Access, id: string): Promise<UploadRecord> {
  const upload = await tus.core.read(access, id);
  if (!upload) throw new UploadError('upload_not_found');
  if (upload.state === 'cancelled') throw new UploadError('upload_cancelled', 'The upload was terminated');
  if (upload.state === 'failed') throw new UploadError('upload_failed', upload.error ?? 'The upload failed');
  return upload;
}
