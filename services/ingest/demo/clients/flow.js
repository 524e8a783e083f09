/*
 * flow.js (docs/protocols/resumable-flow.md): resumable.js's protocol with flow* fields. Chunks
 * to /upload, each tested first with a GET, so a file picked again after a reload sends only
 * the chunks the server lacks.
 */
(function (demo) {
  'use strict';

  var flow = new Flow({
    target: '/upload',
    chunkSize: demo.options.chunkSize || 1024 * 1024,
    simultaneousUploads: demo.options.simultaneous,
    testChunks: true,
    generateUniqueIdentifier: demo.identifierFor,
    headers: demo.options.headers,
    // flow.js stops a file at its first failed chunk by default; 503 (shutting down, Redis
    // away) and 507 (disk full) pass, so retry what is not a refusal, a second apart.
    maxChunkRetries: 30,
    chunkRetryInterval: 1000,
    permanentErrors: [400, 401, 403, 404, 409, 413, 415, 500, 501],
  });
  if (!flow.support) return demo.unsupported();

  demo.followResumableFamily(flow, {});
})(window.ChunkyardDemo);
