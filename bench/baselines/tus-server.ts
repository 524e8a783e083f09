/**
 * Baseline: @tus/server with @tus/file-store from npm, as its README sets it up.
 * Env: PORT, DIR. Prints {"msg":"listening"} when ready.
 */
import http from 'node:http';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: process.env.DIR! }) });
const server = http.createServer((req, res) => {
  void tus.handle(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening' })));
process.once('SIGTERM', () => process.exit(0));
