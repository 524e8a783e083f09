/*
 * simple-uploader.js (docs/protocols/simple-uploader.md), the core of vue-simple-uploader:
 * chunks to /upload, several at once. Instead of a test GET per chunk, one answer says which
 * chunks the server has (checkChunkUploadedByResponse): chunk 1's test GET, or its POST,
 * carries uploaded_chunks, so a file picked again after a reload sends only what is missing.
 */
(function (demo) {
  'use strict';

  var uploader = new Uploader({
    target: '/upload',
    chunkSize: demo.options.chunkSize || 1024 * 1024,
    simultaneousUploads: demo.options.simultaneous,
    testChunks: true,
    generateUniqueIdentifier: demo.identifierFor,
    headers: demo.options.headers,
    checkChunkUploadedByResponse: function (chunk, message) {
      var stored = JSON.parse(message || '{}').uploaded_chunks || [];
      return stored.indexOf(chunk.offset + 1) !== -1;
    },
    // Refusals are 415 and 404, which it never retries; 503 (shutting down, Redis away) and
    // 507 (disk full) pass, so retry the rest, a second apart.
    maxChunkRetries: 30,
    chunkRetryInterval: 1000,
  });
  if (!uploader.support) return demo.unsupported();

  demo.followResumableFamily(uploader, { pickedFirst: true });
})(window.ChunkyardDemo);
