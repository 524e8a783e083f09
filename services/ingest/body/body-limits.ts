/**
 * Bounds on request bodies by the bytes actually read, whatever the framing: a body
 * sent with `Transfer-Encoding: chunked` has no Content-Length to check up front, so the
 * count runs as it arrives and an oversized body is cut off.
 */
import type { IncomingMessage } from 'node:http';
import { UploadError } from '../../core/errors.js';

/** Refuses a body whose declared length is over `maxBytes`, before any of it is read. */
export function refuseDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new UploadError('range_too_large', `The request body of ${declared} bytes exceeds the limit of ${maxBytes}`);
}

/**
 * Cuts off a body that reads past `maxBytes`. Call it only in the same tick as the body is
 * piped to its consumer: a 'data' listener starts the flow, and bytes read before the
 * consumer is attached would be lost.
 */
export function capBodyBytes(req: IncomingMessage, maxBytes: number): void {
  let read = 0;
  const count = (piece: Buffer) => {
    read += piece.length;
    if (read > maxBytes) {
      req.off('data', count);
      req.destroy(new UploadError('range_too_large', `The request body exceeds the limit of ${maxBytes} bytes`));
    }
  };
  req.on('data', count);
}

/**
 * After a refused request, reads and throws away what the client is still sending, so it
 * finishes sending and reads the answer (browsers read a response only after the body is
 * sent; Node does not do this for a request that was partly read). Cut off past `capBytes`.
 */
export function discardUnreadBody(req: IncomingMessage, capBytes: number): void {
  if (req.complete || req.destroyed) return;
  // A multipart parser still piped to the request would stop taking data once the part it
  // was handing on is dropped, and its back-pressure would pause the request again.
  req.unpipe();
  let discarded = 0;
  req.on('data', (piece: Buffer) => {
    discarded += piece.length;
    if (discarded > capBytes) req.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}
