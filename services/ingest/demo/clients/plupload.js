/*
 * Plupload, html5 runtime (docs/protocols/plupload.md): files in chunks of chunk_size, one
 * file at a time. Plupload sends no identifier, only the name, so the page adds its file id
 * as `uid`: two files of the same name (every phone's image.jpg) stay two uploads.
 *
 * Files are chosen with the page's input, not Plupload's browse_button: that one writes its
 * input as HTML with a style attribute, which the page's policy (no inline styles) blocks.
 * Dropping goes through Plupload's own drop support (drop_element), which needs no markup.
 */
(function (demo) {
  'use strict';

  var parts = demo.chooser(false);
  var rows = {}; // Plupload's file id (the upload's uid) -> the page's row

  var uploader = new plupload.Uploader({
    runtimes: 'html5',
    drop_element: parts.dropArea,
    url: '/upload',
    chunk_size: demo.options.chunkSize || 1024 * 1024,
    headers: demo.options.headers,
    // A failed chunk is sent again, a second apart; a refusal is refused again.
    max_retries: 3,
    // Empty files are refused by default; the server takes them (chunks=0).
    filters: { prevent_empty: false },
  });

  uploader.bind('BeforeUpload', function (up, file) {
    up.setOption('multipart_params', { uid: file.id });
  });

  uploader.bind('FilesAdded', function (up, files) {
    files.forEach(function (file) {
      rows[file.id] = demo.addFile({
        name: file.name,
        path: file.relativePath,
        size: file.size,
        identifier: file.id,
        cancel: function () { up.removeFile(file); },
      });
    });
    up.start();
  });

  uploader.bind('UploadProgress', function (up, file) {
    rows[file.id].progress(file.percent / 100);
  });

  uploader.bind('FileUploaded', function (up, file) {
    rows[file.id].sent();
  });

  uploader.bind('Error', function (up, error) {
    if (error.file && rows[error.file.id]) rows[error.file.id].failed(error.response || error.message);
  });

  uploader.bind('Init', function (up) {
    if (up.runtime !== 'html5') demo.unsupported();
  });
  uploader.init();
  // addFile takes an input's files as it takes a drop's.
  demo.browse(parts.files, function (files) { uploader.addFile(files); });
})(window.ChunkyardDemo);
