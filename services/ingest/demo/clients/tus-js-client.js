/*
 * tus-js-client (docs/protocols/tus.md) on the tus endpoint, /files/. Each file goes as
 * parallelUploads partial uploads at once, which the server joins; the client keeps their
 * URLs in localStorage, and the page asks for them (findPreviousUploads) before it starts,
 * so a file picked again after a reload carries on where it stopped.
 */
(function (demo) {
  'use strict';

  if (!tus.isSupported) return demo.unsupported();

  /* The upload's id on the server: the last segment of its URL. */
  function idOf(url) {
    return url.slice(url.lastIndexOf('/') + 1);
  }

  function send(file) {
    var upload;
    var row = demo.addFile({
      name: file.name,
      size: file.size,
      pause: function () { upload.abort(); },
      resume: function () { upload.start(); },
      cancel: function () { upload.abort(true); }, // terminates the partial uploads too
    });
    upload = new tus.Upload(file, {
      endpoint: '/files/',
      chunkSize: demo.options.chunkSize || Infinity,
      parallelUploads: demo.options.simultaneous,
      metadata: { filename: file.name, filetype: file.type },
      headers: demo.options.headers,
      onProgress: function (sent, total) { row.progress(total ? sent / total : 1); },
      // The joined upload, the file, gets its URL last.
      onSuccess: function () { row.sent(idOf(upload.url)); },
      onError: function (error) {
        var answer = error.originalResponse;
        row.failed(answer ? answer.getBody() || 'HTTP ' + answer.getStatus() : error.message);
      },
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  demo.pick(function (files) { files.forEach(send); });
})(window.ChunkyardDemo);
