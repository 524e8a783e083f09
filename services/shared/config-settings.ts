/**
 * Every setting Chunkyard reads from the environment, declared once: its schema, its
 * default and its description (the README's table is generated from these).
 */
import { z } from 'zod';
import { ALLOWED_TYPES_ENTRY } from '../core/type-allowlist.js';
import { byteSize, flag, hostPortList, isStrongPassword, setting, wholeNumber } from './config-schemas.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const settings = {
  PORT: setting(wholeNumber(0, 65535), '3000', 'TCP port the ingest listens on.'),
  OPS_PORT: setting(
    wholeNumber(0, 65535),
    '3002',
    'TCP port of the ingest\'s own `/metrics`, `/healthz` and `/readyz`: each instance answers for itself there, unlike on the upload port behind a load balancer.',
  ),
  HOST: setting(z.string().min(1), '0.0.0.0', 'Address the ingest binds to.'),
  REDIS_URL: setting(
    z.union([z.url({ protocol: /^rediss?$/ }), z.string().regex(/^unix:\/\/\/\S+$/, 'expected redis://, rediss:// or unix:///path')]),
    'redis://127.0.0.1:6379',
    'Redis holding upload state and the merge queue (`redis://`, `rediss://`, or `unix:///path/to/redis.sock`).',
  ),
  REDIS_CLUSTER_NODES: setting(
    hostPortList(),
    '',
    'Redis Cluster nodes to start from, `host:port,host:port,...`; when set, used instead of `REDIS_URL`.',
  ),
  REDIS_SENTINELS: setting(
    hostPortList(),
    '',
    'Redis Sentinels, `host:port,...`; with `REDIS_SENTINEL_MASTER`, used instead of `REDIS_URL`.',
  ),
  REDIS_SENTINEL_MASTER: setting(
    z.string().regex(/^[A-Za-z0-9._-]{0,64}$/, 'expected a Sentinel master name'),
    '',
    'The master name the Sentinels watch (with `REDIS_SENTINELS`).',
  ),
  REDIS_WAIT_REPLICAS: setting(
    wholeNumber(0, 16),
    '0',
    'With Sentinel: a stored range is acknowledged only once this many replicas have it (`WAIT`), so a failover cannot lose what a client was told is stored. 1 with Sentinel; 0 for a single Redis.',
  ),
  REDIS_PREFIX: setting(
    z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 letters, digits, _ or -'),
    'chunkyard',
    'Prefix of every Redis key Chunkyard writes, so several deployments can share one Redis.',
  ),
  DATA_DIR: setting(
    z.string().min(1),
    './data',
    'Directory holding `partial/` (uploads being received), `files/` (published files) and `tmp/`; one filesystem, so publishing is an atomic rename.',
  ),
  STORAGE: setting(
    z.enum(['fs', 's3']),
    'fs',
    'Where uploads are stored: `fs` (`DATA_DIR`, one filesystem shared by every ingest and worker) or `s3` (an S3-compatible bucket: no shared disk; `DATA_DIR` then only holds request bodies in flight).',
  ),
  S3_ENDPOINT: setting(
    z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    '',
    'S3 endpoint for non-AWS stores (Ceph RGW, MinIO, R2...); empty for AWS. Credentials come from the AWS chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, or an instance role.',
  ),
  S3_REGION: setting(z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected a region such as us-east-1'), 'us-east-1', 'S3 region.'),
  S3_BUCKET: setting(
    z.string().refine((s) => s === '' || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s), 'expected an S3 bucket name'),
    '',
    'S3 bucket holding stored ranges and published files (required with `STORAGE=s3`).',
  ),
  S3_PREFIX: setting(
    z.string().refine((s) => s === '' || /^[A-Za-z0-9!_.*'()/-]{1,200}\/$/.test(s), 'expected a key prefix ending in /, such as uploads/'),
    '',
    'Prefix of every object key Chunkyard writes (`uploads/`), so a bucket can be shared.',
  ),
  S3_FORCE_PATH_STYLE: setting(flag(), 'false', 'Address buckets by path (`https://host/bucket/key`), for stores without wildcard DNS (MinIO, Ceph RGW).'),
  S3_TIMEOUT_MS: setting(
    wholeNumber(100),
    '30000',
    'A request to the object store that sends or receives nothing for this long fails: a chunk it was storing gets `503` (clients retry), a merge is retried. Requests of a whole chunk body may last `REQUEST_TIMEOUT_MS` plus this.',
  ),
  MIN_FREE_DISK: setting(
    byteSize(),
    '512MB',
    'Writes are refused (507, clients retry) and `/readyz` fails while less than this is free in `DATA_DIR`, so uploads never fill the disk.',
  ),
  MAX_FILE_SIZE: setting(byteSize(), '10GB', 'Largest file accepted, in bytes or with a unit (`10GB`), whichever client sends it.'),
  MAX_CHUNK_SIZE: setting(
    byteSize(),
    '16MB',
    'Largest body of one request that carries a chunk or a whole file (resumable.js sends a last chunk of up to twice its chunkSize; Dropzone, Fine Uploader and Plupload send small files whole). A tus PATCH is bounded by its upload\'s length instead.',
  ),
  MAX_CHUNKS: setting(wholeNumber(1, 10_000_000), '100000', 'Most chunks one upload may be cut into (clients that send pieces of a fixed size).'),
  UPLOAD_NAMESPACE: setting(
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, _, . or -'),
    'default',
    'Scope of upload identifiers: two uploads with the same identifier in one namespace are one upload.',
  ),
  ALLOWED_TYPES: setting(
    z.string().refine((s) => s.split(',').every((entry) => entry.trim() === '' || ALLOWED_TYPES_ENTRY.test(entry.trim())), 'expected MIME types (`image/png`, `image/*`) and extensions (`.pdf`), comma-separated'),
    '',
    'Files accepted, by MIME type (`image/*`, `application/pdf`) and/or extension (`.pdf`), comma-separated; empty accepts every type. Checked with the first request of an upload.',
  ),
  QUOTA_UPLOADS: setting(
    wholeNumber(1),
    '1000',
    'Uploads in progress one client may have at once (per token subject; per client address without tokens).',
  ),
  QUOTA_BYTES: setting(byteSize(), '100GB', 'Bytes of uploads in progress one client may have at once.'),
  UPLOAD_TOKEN_SECRET: setting(
    z.string().refine((s) => s === '' || s.length >= 32, 'must be empty or at least 32 characters'),
    '',
    'HS256 key of upload tokens (JWTs your backend issues). When set, every upload request needs one, and uploads are scoped per token subject.',
  ),
  UPLOAD_TTL: setting(
    wholeNumber(1),
    '86400',
    'Seconds an upload may go without a chunk before it is abandoned: its state expires and the sweep removes its files.',
  ),
  RESULT_TTL: setting(wholeNumber(1), '604800', 'Seconds the record of a completed, failed or cancelled upload is kept.'),
  SWEEP_GRACE_MS: setting(
    wholeNumber(0),
    '60000',
    'Stored bytes no live upload owns (expired, cancelled, refused) are swept once untouched for `REQUEST_TIMEOUT_MS` plus this, so nothing still being written goes.',
  ),
  TUS_PATH: setting(
    z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/$/, 'expected a path with a trailing slash, such as /files/'),
    '/files/',
    'Path of the tus 1.0 endpoint (tus-js-client, Uppy); upload URLs are this path plus an id.',
  ),
  TUS_RELATIVE_LOCATION: setting(
    flag(),
    'false',
    'Answer tus creations with a path-absolute `Location` (`/files/<id>`) instead of an absolute URL (built from the request, or from the proxy\'s forwarded headers with `TRUST_PROXY`).',
  ),
  CANCEL_GRACE_MS: setting(
    wholeNumber(0),
    '30000',
    'A cancelled upload refuses data still in flight for this long (so its client stops); after that its id may start a new upload.',
  ),
  SWEEP_INTERVAL_MS: setting(
    wholeNumber(100),
    '600000',
    'How often a worker sweeps stored bytes no live upload owns, stale temp files and, on S3, stale multipart uploads (a BullMQ job scheduler).',
  ),
  CORS_ORIGINS: setting(
    z.string().refine((s) => s.split(',').every((o) => o.trim() === '' || o.trim() === '*' || /^https?:\/\/[^/\s]+$/.test(o.trim())), 'expected comma-separated origins such as https://app.example.com'),
    '',
    'Origins allowed to upload from a browser (comma-separated, or `*`); empty: same origin only.',
  ),
  CORS_CREDENTIALS: setting(flag(), 'false', 'Allow cookies and credentials on cross-origin requests (`withCredentials`); needs explicit origins.'),
  TRUST_PROXY: setting(
    flag(),
    'false',
    'Trust `X-Forwarded-For`/`-Proto`/`-Host` from the proxy in front (client addresses for quotas and limits). Only behind a proxy that sets them.',
  ),
  MAX_CONNECTIONS: setting(
    wholeNumber(10),
    '1000',
    'Connections one ingest keeps open at most; more are refused. Keep it well below the process\'s file descriptor limit (`ulimit -n`).',
  ),
  MAX_REQUESTS_PER_CLIENT: setting(
    wholeNumber(1),
    '64',
    'Requests one client address may have in progress on one ingest at once; more get 503 (clients retry).',
  ),
  EVENT_STREAMS_PER_CLIENT: setting(wholeNumber(1), '8', 'Server-sent event streams one client address may hold open on one ingest.'),
  EVENT_STREAMS_MAX: setting(wholeNumber(1), '1000', 'Server-sent event streams one ingest holds open at most.'),
  HEADERS_TIMEOUT_MS: setting(wholeNumber(1000), '30000', 'Time a client has to send its request headers.'),
  REQUEST_TIMEOUT_MS: setting(wholeNumber(1000), '300000', 'Time a client has to send a whole request, body included.'),
  IDLE_TIMEOUT_MS: setting(wholeNumber(1000), '20000', 'A connection that sends nothing for this long mid-request is closed, so a trickling body cannot hold its slot.'),
  CHUNK_FSYNC: setting(flag(), 'true', 'fsync each chunk before it is counted, so a power cut cannot lose it.'),
  LOCK_LEASE_MS: setting(
    wholeNumber(1000),
    '10000',
    'Lease of an append\'s write lock (tus PATCH), renewed while the body streams; an instance that dies holding it loses it after this long.',
  ),
  APPEND_CHECKPOINT: setting(
    byteSize(),
    '16MB',
    'A long append (tus PATCH) counts what is durable every this many bytes, so the merge can follow it before the request ends.',
  ),
  MERGE_CONCURRENCY: setting(
    wholeNumber(1, 64),
    '4',
    'Merge jobs one worker process runs at once. A merge mostly waits for its flushes, so more than the cores pays.',
  ),
  EARLY_MERGE_MIN_SIZE: setting(
    byteSize(),
    '64MB',
    'Uploads at least this large start merging with their first chunk, appending chunks as they arrive, so the file is ready soon after the last one.',
  ),
  EARLY_MERGES_PER_WORKER: setting(
    wholeNumber(0, 63),
    '1',
    'Early merges one worker process runs at once (fewer than `MERGE_CONCURRENCY`, which they count against; unset with `MERGE_CONCURRENCY=1`, 0); further large uploads merge once complete. 0 turns early merging off.',
  ),
  EARLY_MERGE_IDLE_MS: setting(
    wholeNumber(100),
    '15000',
    'An early merge that gets no next chunk for this long gives its slot back; its upload is merged once complete.',
  ),
  MERGE_ATTEMPTS: setting(wholeNumber(1, 100), '5', 'Tries of a merge job before the upload is marked failed.'),
  MERGE_DISK_FULL_RETRY_MS: setting(
    wholeNumber(100),
    '30000',
    'A merge that finds the storage full waits this long and tries again, without using up an attempt (at most `MERGE_DISK_FULL_RETRIES` times).',
  ),
  MERGE_DISK_FULL_RETRIES: setting(
    wholeNumber(0, 10_000),
    '20',
    'A merge that keeps finding the storage full gives up after this many waits, and its upload fails with the reason.',
  ),
  MERGE_LOCK_MS: setting(
    wholeNumber(1000),
    '30000',
    'BullMQ lock of an active merge; a worker that dies holding it is noticed after this long and its merge redone.',
  ),
  WORKER_PORT: setting(wholeNumber(0, 65535), '3001', 'TCP port of the worker\'s `/metrics`, `/healthz` and `/readyz`.'),
  ADMIN_USER: setting(z.string().min(1).max(64), 'admin', 'User name for `/admin/queues` and `/metrics` (HTTP basic auth).'),
  ADMIN_PASSWORD: setting(
    z.string().max(256).refine((s) => s === '' || isStrongPassword(s), 'must be empty or at least 16 characters, not one repeated character'),
    '',
    'Password for `/admin/queues` and `/metrics` (at least 16 characters); while empty, both are refused. Repeated wrong guesses are slowed down.',
  ),
  WEBHOOK_URL: setting(
    z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    '',
    'URL told of every completed or failed upload (POST, JSON, signed); empty for none.',
  ),
  WEBHOOK_SECRET: setting(z.string().max(256), '', 'HMAC-SHA256 key signing webhook deliveries; required with `WEBHOOK_URL`.'),
  WEBHOOK_ATTEMPTS: setting(wholeNumber(1, 100), '10', 'Tries of one webhook delivery, with exponential backoff from 1 s.'),
  SHUTDOWN_TIMEOUT_MS: setting(wholeNumber(0), '10000', 'How long SIGTERM waits for in-flight work before exiting.'),
  DEMO_PAGE: setting(flag(), 'true', 'Serve the demo upload page at `/`.'),
  LOG_LEVEL: setting(z.enum(LOG_LEVELS), 'info', `pino log level: ${LOG_LEVELS.join(', ')}.`),
};

