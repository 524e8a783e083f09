/**
 * Baseline: a plain node:http server that streams each request body into a file of its
 * own; with FSYNC=1 fdatasync'ed before the answer. The ceiling a Node ingest of raw
 * (octet) chunks can reach here. Env: PORT, DIR, FSYNC. Prints {"msg":"listening"} when ready.
 */
import http from 'node:http';
import { bodyFilesFromEnv, storeBody } from './body-file.js';

const files = bodyFilesFromEnv();

const server = http.createServer((req, res) => {
  storeBody(files, req).then(
    () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"stored":true}');
    },
    (err: Error) => {
      res.writeHead(500);
      res.end(err.message);
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening' })));
process.once('SIGTERM', () => process.exit(0));
