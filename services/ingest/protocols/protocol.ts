/**
 * The contract of a protocol adapter: one per client family, each in a folder of its own.
 * An adapter recognises its client's requests, parses and checks them into the core's
 * protocol-neutral operations, and maps the core's outcomes and error codes to what its
 * client understands. Each owns its status table, because the libraries react to the
 * same status in opposite ways (docs/protocols/).
 */
import type { Context } from 'koa';
import type { Access } from '../../core/core-dependencies.js';
import type { UploadCore } from '../../core/upload-core.js';
import type { MultipartStart } from '../body/multipart-reader.js';
import type { SmallBody } from '../body/small-body.js';
import type { ErrorRenderer } from '../../shared/http/default-statuses.js';
import type { FieldSource } from './shared/field-source.js';

/** A request to the upload URL, with its multipart fields read when it has a multipart body. */
export interface IncomingUpload {
  ctx: Context;
  /** Read up to the file part; the file part itself is still unread. */
  multipart: MultipartStart | undefined;
  /** A small form or text body (urlencoded, text/plain), read whole; never a chunk. */
  small?: SmallBody;
}

export type { ErrorRenderer };

export interface UploadProtocol {
  readonly name: string;
  readonly renderError: ErrorRenderer;
  /** Whether the request is this protocol's: by method, query, headers and multipart fields. */
  recognises(request: IncomingUpload): boolean;
  handle(request: IncomingUpload): Promise<void>;
}

/** What adapters are built with. */
export interface ProtocolDependencies {
  core: UploadCore;
  /** Who is asking: checks the upload token (header, query or a field read before the file). */
  accessOf: (ctx: Context, fields?: FieldSource) => Promise<Access>;
  metrics: {
    pieceStored(outcome: string, bytes: number): void;
  };
}
