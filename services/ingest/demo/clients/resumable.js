/*
 * resumable.js (docs/protocols/resumable-flow.md): chunks to /upload, each tested first with
 * a GET, so a file picked again after a reload sends only the chunks the server lacks.
 */
(function (demo) {
  'use strict';

  var r = new Resumable({
    target: '/upload',
    chunkSize: demo.options.chunkSize || 1024 * 1024,
    simultaneousUploads: demo.options.simultaneous,
    testChunks: true,
    minFileSize: 0,
    generateUniqueIdentifier: demo.identifierFor,
    headers: demo.options.headers,
    // 503 (shutting down, Redis away) and 507 (disk full) pass: retry them, a second apart.
    maxChunkRetries: 30,
    chunkRetryInterval: 1000,
    permanentErrors: [400, 401, 403, 404, 409, 413, 415, 500, 501],
  });
  if (!r.support) return demo.unsupported();

  demo.followResumableFamily(r, {
    startEvent: 'filesAdded',
    controls: function (file) {
      return {
        pause: function () {
          file.pause(true);
          file.abort(); // in-flight chunks are dropped; the server keeps those it stored
          r.upload(); // the other files carry on (resumable.js skips paused ones)
        },
        resume: function () {
          file.pause(false);
          r.upload();
        },
        cancel: function () {
          file.cancel();
          r.upload();
        },
      };
    },
  });
})(window.ChunkyardDemo);
