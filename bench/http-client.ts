/**
 * One keep-alive HTTP client for every system under test, so each gets the same client
 * cost: node:http, bodies written as Buffers (no copies), a pool of K sockets per host.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

export function createAgent(concurrency: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

export function send(
  agent: http.Agent,
  url: URL,
  method: string,
  headers: Record<string, string | number>,
  parts: Buffer[],
): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(pieces).toString('utf8'),
          ms: performance.now() - started,
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    for (let i = 0; i < parts.length - 1; i++) request.write(parts[i]!);
    request.end(parts[parts.length - 1]);
  });
}

/** Runs `count` jobs with `concurrency` in flight, in order of index (like a browser library's queue). */
export async function runLanes(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) await job(next++);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
