/*
 * Uppy (docs/protocols/tus.md): its Dashboard, and its Tus plugin on the tus endpoint,
 * /files/. Uppy keeps each upload's URL in localStorage by itself, so a file picked again
 * after a reload carries on where it stopped.
 */
(function (demo) {
  'use strict';

  var uppy = new Uppy.Uppy({ autoProceed: true }) // upload as soon as files are picked, like the other libraries here
    .use(Uppy.Dashboard, { inline: true, target: demo.widget(), width: '100%', height: 360, proudlyDisplayPoweredByUppy: false })
    .use(Uppy.Tus, {
      endpoint: '/files/',
      chunkSize: demo.options.chunkSize || Infinity,
      limit: demo.options.simultaneous,
      headers: demo.options.headers,
    });

  var rows = {}; // Uppy's file id -> the page's row

  uppy.on('file-added', function (file) {
    rows[file.id] = demo.addFile({ name: file.name, path: file.meta.relativePath, size: file.size });
  });

  uppy.on('upload-progress', function (file, progress) {
    rows[file.id].progress(progress.bytesTotal ? progress.bytesUploaded / progress.bytesTotal : 1);
  });

  uppy.on('upload-success', function (file, response) {
    var url = response.uploadURL;
    rows[file.id].sent(url.slice(url.lastIndexOf('/') + 1));
  });

  uppy.on('upload-error', function (file, error) {
    rows[file.id].failed(error.message);
  });

  uppy.on('file-removed', function (file) {
    rows[file.id].cancelled();
  });
})(window.ChunkyardDemo);
