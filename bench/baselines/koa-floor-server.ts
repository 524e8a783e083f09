/**
 * Baseline: the floor of Chunkyard's own stack. Koa with @koa/router, a multipart body
 * parsed by koa-body (formidable, as Chunkyard configures it) or a raw body piped, into a
 * file of its own; with FSYNC=1 flushed before the answer, as CHUNK_FSYNC=true does. No
 * validation, no Redis, no rename: what any ingest on this stack pays before doing its job.
 * Env: PORT, DIR, FSYNC. Prints {"msg":"listening"} when ready.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import Router from '@koa/router';
import Koa from 'koa';
import { koaBody } from 'koa-body';

const dir = process.env.DIR!;
const fsync = process.env.FSYNC === '1';
let counter = 0;
const nextFile = () => path.join(dir, `${process.pid}-${++counter}-${randomBytes(4).toString('hex')}.bin`);

// formidable calls a file done at 'finish', before the fsync that `flush` runs on close;
// Chunkyard waits for the close, and so does the floor.
const staged = new Map<string, WriteStream>();
const multipart = koaBody({
  multipart: true,
  json: false,
  urlencoded: false,
  text: false,
  formidable: {
    uploadDir: dir,
    maxFiles: 1,
    maxFileSize: 64 * 1024 * 1024,
    allowEmptyFiles: true,
    minFileSize: 0,
    fileWriteStreamHandler: (file) => {
      const { filepath } = file as unknown as { filepath: string };
      const stream = createWriteStream(filepath, { flags: 'wx', flush: fsync });
      staged.set(filepath, stream);
      return stream;
    },
  },
});

const router = new Router();
router.post('/upload', async (ctx, next) => {
  if (ctx.is('multipart/form-data')) {
    await multipart(ctx, next);
    const { filepath } = (ctx.request as unknown as { files: { file: { filepath: string } } }).files.file;
    await finished(staged.get(filepath)!);
    staged.delete(filepath);
    ctx.body = { stored: true };
    return;
  }
  const file = createWriteStream(nextFile(), { flags: 'wx', flush: fsync });
  ctx.req.pipe(file);
  await finished(file);
  ctx.body = { stored: true };
});

const app = new Koa();
app.use(router.routes());
const server = http.createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening' })));
process.once('SIGTERM', () => process.exit(0));
