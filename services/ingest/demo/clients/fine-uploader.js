/*
 * Fine Uploader, core (docs/protocols/fine-uploader.md): files over partSize go in chunks,
 * several of one file at once (concurrent), then one finalising POST (success.endpoint);
 * smaller ones go whole. Each file is named by the random qquuid Fine Uploader makes, kept
 * in localStorage with the chunks still to send, so a file picked again after a reload
 * carries on (resume).
 */
(function (demo) {
  'use strict';

  if (!qq.supportedFeatures.chunking) return demo.unsupported();
  var partSize = demo.options.chunkSize || 2000000;
  var rows = {}; // Fine Uploader's file id -> the page's row

  var uploader = new qq.FineUploaderBasic({
    request: { endpoint: '/upload', customHeaders: demo.options.headers },
    chunking: {
      enabled: true,
      partSize: partSize,
      concurrent: { enabled: true },
      success: { endpoint: '/upload', customHeaders: demo.options.headers },
    },
    maxConnections: demo.options.simultaneous,
    resume: { enabled: true },
    // Refusals say preventRetry; what passes (503, 507) is tried again.
    retry: { enableAuto: true, autoAttemptDelay: 1 },
    callbacks: {
      onSubmitted: function (id, name) {
        var size = uploader.getSize(id);
        rows[id] = demo.addFile({
          name: name,
          size: size,
          // Only a file in chunks can be paused.
          pause: size > partSize ? function () { uploader.pauseUpload(id); } : undefined,
          resume: function () { uploader.continueUpload(id); },
          cancel: function () { uploader.cancel(id); },
        });
      },
      // The uuid is settled when the upload starts: a resumed file takes its old one back.
      onUpload: function (id) { rows[id].identify(uploader.getUuid(id)); },
      onProgress: function (id, name, sent, total) { rows[id].progress(total ? sent / total : 1); },
      onComplete: function (id, name, answer) { if (answer.success) rows[id].sent(uploader.getUuid(id)); },
      onError: function (id, name, reason) { if (rows[id]) rows[id].failed(reason); },
    },
  });

  demo.pick(function (files) { uploader.addFiles(files); });
})(window.ChunkyardDemo);
