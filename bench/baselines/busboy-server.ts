/**
 * Baseline: node:http + busboy, streaming the multipart file part into a file of its own
 * (fields parsed and ignored); with FSYNC=1 fdatasync'ed before the answer. The ceiling of
 * a Node multipart ingest here. Env: PORT, DIR, FSYNC. Prints {"msg":"listening"} when ready.
 */
import http from 'node:http';
import busboy from 'busboy';
import { bodyFilesFromEnv, storeBody } from './body-file.js';

const files = bodyFilesFromEnv();

const server = http.createServer((req, res) => {
  const fail = (err: Error) => {
    if (res.headersSent) return;
    res.writeHead(500);
    res.end(err.message);
  };
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: 64 * 1024 * 1024 } });
  } catch (err) {
    fail(err as Error);
    return;
  }
  const fields: Record<string, string> = {};
  const written: Promise<void>[] = [];
  parser.on('field', (name, value) => {
    fields[name] = value;
  });
  parser.on('file', (_name, stream) => {
    const done = storeBody(files, stream);
    done.catch(() => undefined); // awaited on 'close'; this only keeps an early failure from being unhandled
    written.push(done);
  });
  parser.on('close', () => {
    Promise.all(written).then(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ stored: true, chunkNumber: fields.resumableChunkNumber }));
    }, fail);
  });
  parser.on('error', fail);
  req.pipe(parser);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening' })));
process.once('SIGTERM', () => process.exit(0));
