/**
 * Baseline: the floor of Chunkyard's own stack as it is now. A Koa app whose one
 * middleware takes `/upload` (Chunkyard's upload endpoint is plain Koa middleware too, no
 * router), a multipart body read by busboy up to its file part and the part streamed into
 * a file of its own, or a raw body piped into one; with FSYNC=1 fdatasync'ed before the
 * answer, as CHUNK_FSYNC=true does. No validation, no Redis, no state: what any ingest on
 * this stack pays before doing its job. The bench starts it with the ingest's node flags
 * (scripts/lib/node-flags.ts) and an old generation sized like the ingest's (run.ts says
 * why). Env: PORT, DIR, FSYNC. Prints {"msg":"listening"}.
 */
import http from 'node:http';
import busboy from 'busboy';
import Koa from 'koa';
import { bodyFilesFromEnv, storeBody } from './body-file.js';

const files = bodyFilesFromEnv();

/** Fields, then the file part stored; resolves once the whole body was read and the file written. */
function storeMultipart(req: http.IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: 64 * 1024 * 1024 } });
    const fields: Record<string, string> = {};
    let written: Promise<void> | undefined;
    parser.on('field', (name, value) => {
      fields[name] ??= value;
    });
    parser.on('file', (_name, stream) => {
      written = storeBody(files, stream);
      written.catch(() => undefined);
    });
    parser.on('close', () => {
      if (!written) return reject(new Error('no file part'));
      written.then(() => resolve(fields), reject);
    });
    parser.on('error', reject);
    req.pipe(parser);
  });
}

const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.path !== '/upload' || ctx.method !== 'POST') return next();
  if (ctx.is('multipart/form-data')) await storeMultipart(ctx.req);
  else await storeBody(files, ctx.req);
  ctx.body = { stored: true };
});

const server = http.createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening' })));
process.once('SIGTERM', () => process.exit(0));
