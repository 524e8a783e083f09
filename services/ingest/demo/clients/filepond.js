/*
 * FilePond (docs/protocols/filepond.md), with its own drop area and file list. Files over
 * chunkSize go as a chunked transfer: a POST that gets the server's id for the file, then
 * PATCHes at byte offsets; smaller ones go whole in one POST, answered with the id.
 */
(function (demo) {
  'use strict';

  if (!FilePond.supported()) return demo.unsupported();
  var input = document.createElement('input');
  input.type = 'file';
  input.multiple = true;
  demo.widget().appendChild(input);

  var pond = FilePond.create(input, {
    server: { url: '/upload', headers: demo.options.headers },
    chunkUploads: true,
    chunkSize: demo.options.chunkSize || 5000000,
    maxParallelUploads: demo.options.simultaneous,
    credits: false,
  });

  var rows = {}; // FilePond's item id -> the page's row

  pond.on('addfile', function (error, item) {
    if (error) return;
    rows[item.id] = demo.addFile({ name: item.filename, path: item.relativePath, size: item.fileSize });
  });

  pond.on('processfileprogress', function (item, fraction) {
    rows[item.id].progress(fraction);
  });

  pond.on('processfile', function (error, item) {
    if (error) rows[item.id].failed(error.body || error.main);
    else rows[item.id].sent(item.serverId);
  });

  pond.on('processfileabort', function (item) {
    rows[item.id].cancelled();
  });
})(window.ChunkyardDemo);
