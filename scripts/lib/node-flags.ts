/**
 * Node flags each service is started with, wherever it is started from source or by the
 * benchmark (`npm start`, `npm run cluster`, `npm run bench`). The Dockerfile, the compose
 * file and the `ingest` script of package.json spell the same flags out.
 *
 * The ingest keeps its young generation small: every chunk body passes through 64 KiB
 * socket reads, and with V8's default 16 MiB semi-spaces the new space alone holds 32 MiB
 * of them between scavenges (bench/README.md, "Memory").
 */
export const SERVICE_NODE_FLAGS = {
  ingest: ['--max-semi-space-size=2'],
  worker: [] as string[],
} as const;

export type ServiceName = keyof typeof SERVICE_NODE_FLAGS;
