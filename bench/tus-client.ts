/**
 * A minimal tus 1.0 client (creation + PATCH) on the same keep-alive HTTP client and the
 * same chunk bytes as the resumable.js load client. tus uploads one file strictly in
 * order, one PATCH at a time, so K in flight means K files in parallel: the one-file
 * shape cannot use more than one request at a time.
 */
import { cutChunks, type ChunkSource } from './chunk-source.js';
import { createAgent, runLanes, send } from './http-client.js';

export interface TusOptions {
  url: string;
  files: number;
  fileSize: number;
  chunkSize: number;
  concurrency: number;
  source: ChunkSource;
}

export interface TusResult {
  bytes: number;
  requests: number;
  startedAt: number;
  finishedAt: number;
  latenciesMs: number[];
  /** The upload ids (FileStore file names), per file index. */
  ids: string[];
}

export async function runTus(options: TusOptions): Promise<TusResult> {
  const agent = createAgent(options.concurrency);
  const cut = cutChunks(options.fileSize, options.chunkSize);
  const latenciesMs: number[] = [];
  const ids: string[] = [];
  let bytes = 0;
  let requests = 0;
  const startedAt = performance.now();
  try {
    await runLanes(options.files, options.concurrency, async (fileIndex) => {
      const created = await send(agent, new URL('/files', options.url), 'POST', {
        'tus-resumable': '1.0.0',
        'upload-length': options.fileSize,
        'upload-metadata': `filename ${Buffer.from(`file-${fileIndex}.bin`).toString('base64')}`,
        'content-length': 0,
      }, [Buffer.alloc(0)]);
      requests++;
      const location = created.headers.location;
      if (created.status !== 201 || !location) throw new Error(`tus create: HTTP ${created.status} ${created.body}`);
      const uploadUrl = new URL(location, options.url);
      ids[fileIndex] = uploadUrl.pathname.split('/').pop()!;
      for (const chunk of cut) {
        const data = options.source.bytes(fileIndex, chunk);
        const result = await send(agent, uploadUrl, 'PATCH', {
          'tus-resumable': '1.0.0',
          'upload-offset': chunk.start,
          'content-type': 'application/offset+octet-stream',
          'content-length': data.length,
        }, [data]);
        requests++;
        if (result.status !== 204) throw new Error(`tus PATCH: HTTP ${result.status} ${result.body}`);
        latenciesMs.push(result.ms);
        bytes += data.length;
      }
    });
  } finally {
    agent.destroy();
  }
  return { bytes, requests, startedAt, finishedAt: performance.now(), latenciesMs, ids };
}
