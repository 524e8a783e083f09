/**
 * The object store of the S3 runs (issue 12): a throwaway Ceph RGW from the test helper
 * (test/helpers/ceph-rgw.ts: one mon, one memstore OSD, one radosgw, killed and removed on
 * cleanup), with its ops log on, to count the S3 requests each upload costs. Its memstore
 * gets 6 GiB (RAM used only for what is stored): a 256 MiB run stores its ranges, the
 * published object and the direct upload, and radosgw frees deleted multipart data only in
 * its garbage collection (30 s here); a full OSD would hang requests.
 *
 * Why the ops log: the S3 driver exports no request metrics (`/metrics` has none for S3),
 * and counting inside the services would mean wrapping their SDK client. radosgw writes one
 * JSON line per request it served (operation, URI, status) to a file once
 * `rgw enable ops log` and `rgw ops log file path` are set; the helper's ceph.conf has
 * neither, so they are added to the gateway's section and the gateway restarted before use.
 */
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCephRgw } from '../test/helpers/ceph-rgw.js';

export interface S3Store {
  bucket: string;
  /** STORAGE=s3, the S3_ settings and credentials for Chunkyard's services. */
  env: Record<string, string>;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /**
   * A client as Chunkyard's (checksums only where required, path-style), with K sockets.
   * `check`: the bench's own verification requests, left out of the counts (by user agent).
   */
  client(sockets: number, check?: boolean): S3Client;
  /** Ceph's daemons (mon, OSD, radosgw), to measure their CPU: `ceph-0`, `ceph-1`, ... */
  pids(): Record<string, number>;
  /** Starts a count of the requests radosgw serves; `end()` waits for its log to settle and returns them by kind. */
  countRequests(): Promise<{ end(): Promise<Record<string, number>> }>;
  /** The size of an object (verifies a published file), then deletes it. */
  sizeAndDelete(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** S3 API names for radosgw's operation names (a part upload is put_obj with a partNumber). */
const API_NAMES: Record<string, string> = {
  put_obj: 'PutObject',
  'put_obj+part': 'UploadPart',
  'copy_obj+part': 'UploadPartCopy',
  copy_obj: 'CopyObject',
  get_obj: 'GetObject',
  init_multipart: 'CreateMultipartUpload',
  complete_multipart: 'CompleteMultipartUpload',
  abort_multipart: 'AbortMultipartUpload',
  delete_obj: 'DeleteObject',
  multi_object_delete: 'DeleteObjects',
  list_bucket: 'ListObjects',
  stat_bucket: 'HeadBucket',
  stat_obj: 'HeadObject',
};

export function requestKind(entry: { operation?: string; uri?: string }): string {
  const op = entry.operation ?? '?';
  const part = /[?&]partNumber=/.test(entry.uri ?? '') ? '+part' : '';
  return API_NAMES[op + part] ?? API_NAMES[op] ?? op;
}

/** The user agent of the bench's own checks, which the counts leave out. */
const CHECK_AGENT = 'chunkyard-bench-check';

/** The JSON objects of radosgw's ops log: one per request, not always one per line (a busy gateway writes them back to back). */
export function jsonObjects(text: string): string[] {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' && depth++ === 0) start = i;
    else if (c === '}' && --depth === 0) objects.push(text.slice(start, i + 1));
  }
  return objects;
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/** Waits until the file has not grown for `quietMs` (at most `maxMs`): radosgw writes its log lines from a thread of its own. */
async function settle(file: string, quietMs = 500, maxMs = 15_000): Promise<number> {
  const started = performance.now();
  let size = await sizeOf(file);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = await sizeOf(file);
    if (now === size || performance.now() - started > maxMs) return now;
    size = now;
  }
}

export async function startS3Store(bucket = 'chunkyard-bench'): Promise<S3Store> {
  const rgw = await startCephRgw({ memBytes: 6 * 1024 ** 3 });
  const opsLog = path.join(rgw.dir, 'ops.log');
  try {
    const conf = path.join(rgw.dir, 'ceph.conf');
    const text = await readFile(conf, 'utf8');
    const section = '[client.rgw.a]\n';
    if (!text.includes(section)) throw new Error(`no ${section.trim()} in the helper's ceph.conf`);
    await writeFile(conf, text.replace(section, `${section}rgw enable ops log = true\nrgw ops log rados = false\nrgw ops log file path = ${opsLog}\n`));
    await rgw.stopGateway();
    await rgw.startGateway();
    await rgw.createBucket(bucket);
  } catch (err) {
    await rgw.stop();
    throw err;
  }
  const clients: S3Client[] = [];
  const client = (sockets: number, check = false) => {
    const made = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: sockets }) },
      ...(check ? { customUserAgent: CHECK_AGENT } : {}),
    });
    clients.push(made);
    return made;
  };
  const admin = client(4, true);
  return {
    bucket,
    // What test/helpers/s3-system.ts gives the services (the AWS SDK reads the credentials).
    env: {
      STORAGE: 's3', S3_ENDPOINT: rgw.endpoint, S3_REGION: rgw.region, S3_BUCKET: bucket, S3_PREFIX: 'uploads/', S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    },
    endpoint: rgw.endpoint,
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
    region: rgw.region,
    client,
    pids: () => Object.fromEntries(rgw.pids().map((pid, i) => [`ceph-${i}`, pid])),
    async countRequests() {
      const from = await settle(opsLog);
      return {
        async end() {
          const to = await settle(opsLog);
          const handle = await open(opsLog, 'r');
          const buffer = Buffer.alloc(to - from);
          try {
            await handle.read(buffer, 0, buffer.length, from);
          } finally {
            await handle.close();
          }
          const counts: Record<string, number> = {};
          for (const text of jsonObjects(buffer.toString('utf8'))) {
            const entry = JSON.parse(text) as { operation?: string; uri?: string; user_agent?: string };
            if (entry.user_agent?.includes(CHECK_AGENT)) continue;
            const kind = requestKind(entry);
            counts[kind] = (counts[kind] ?? 0) + 1;
          }
          return counts;
        },
      };
    },
    async sizeAndDelete(key) {
      const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      return head.ContentLength ?? -1;
    },
    async stop() {
      for (const made of clients) made.destroy();
      await rgw.stop();
    },
  };
}
