/*
 * Dropzone (docs/protocols/dropzone.md), with its own drop area and previews. Files over
 * chunkSize go in chunks, several of one file at once (parallelChunkUploads), named by the
 * random dzuuid Dropzone makes per file; smaller ones go whole in one request, and the
 * server answers with the id it gave them. Dropzone keeps nothing across a reload.
 */
(function (demo) {
  'use strict';

  if (!Dropzone.isBrowserSupported()) return demo.unsupported();
  var box = demo.widget();
  box.classList.add('dropzone'); // dropzone.css styles what is inside a .dropzone

  var dropzone = new Dropzone(box, {
    url: '/upload',
    chunking: true,
    chunkSize: demo.options.chunkSize || 2 * 1024 * 1024,
    parallelChunkUploads: true,
    parallelUploads: demo.options.simultaneous,
    // A chunk that fails is sent again (a refusal is refused again, and the file fails).
    retryChunks: true,
    // The server knows its limit (MAX_FILE_SIZE); Dropzone's own is 256 MiB.
    maxFilesize: null,
    headers: demo.options.headers,
    addRemoveLinks: true,
  });

  var rows = new Map(); // Dropzone's file -> the page's row

  dropzone.on('addedfile', function (file) {
    rows.set(file, demo.addFile({ name: file.name, path: file.fullPath, size: file.size }));
  });

  // Whether a file goes in chunks is settled when its first request is made.
  dropzone.on('sending', function (file) {
    if (file.upload.chunked) rows.get(file).identify(file.upload.uuid);
  });

  dropzone.on('uploadprogress', function (file, percent) {
    rows.get(file).progress(percent / 100);
  });

  dropzone.on('success', function (file, answer) {
    rows.get(file).sent(file.upload.chunked ? file.upload.uuid : answer.id);
  });

  dropzone.on('error', function (file, message) {
    rows.get(file).failed(message);
  });

  dropzone.on('canceled', function (file) {
    rows.get(file).cancelled();
  });
})(window.ChunkyardDemo);
