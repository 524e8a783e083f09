/**
 * Baseline: a plain node:http server that streams each request body into a file of its
 * own (no parsing, no fsync). The ceiling a Node ingest of raw (octet) chunks can reach.
 * Env: PORT, DIR. Prints {"msg":"listening"} when ready.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.env.DIR!;
let counter = 0;

const server = http.createServer((req, res) => {
  const file = path.join(dir, `${process.pid}-${++counter}.bin`);
  pipeline(req, createWriteStream(file)).then(
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
