/**
 * Reading the compose nginx's logs: the access log (deploy/nginx/compose.conf's
 * `chunkyard` format, on stdout) and the error log (stderr), as the official image keeps them.
 */

export interface ProxiedRequest {
  method: string;
  uri: string;
  status: number;
  /** Every ingest address nginx tried for it, in order ($upstream_addr). */
  upstreams: string[];
}

const ACCESS_LINE = /"(\S+) (\S+) [^"]*" (\d{3}) \d+ [\d.]+ (.*)$/;
const ADDRESS = /(\d+\.\d+\.\d+\.\d+):\d+/g;

export function proxiedRequests(accessLog: string): ProxiedRequest[] {
  const requests: ProxiedRequest[] = [];
  for (const line of accessLog.split('\n')) {
    const match = ACCESS_LINE.exec(line);
    if (!match) continue;
    requests.push({ method: match[1]!, uri: match[2]!, status: Number(match[3]), upstreams: [...match[4]!.matchAll(ADDRESS)].map((m) => m[1]!) });
  }
  return requests;
}

/** The upstream addresses of error-log lines saying a connect to them timed out. */
export function connectTimeouts(errorLog: string): string[] {
  return errorLog
    .split('\n')
    .filter((line) => /timed out \(110: Connection timed out\) while connecting to upstream/.test(line))
    .map((line) => /upstream: "http:\/\/(\d+\.\d+\.\d+\.\d+):/.exec(line)?.[1] ?? line);
}
