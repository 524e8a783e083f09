/*
 * Chunkyard demo page: resumable.js, flow.js and simple-uploader.js share one API (flow.js
 * began as a fork of resumable.js, simple-uploader.js as one of flow.js), so one wiring joins
 * any of them to the page: its files to rows, its events to their progress, the page's
 * buttons and drop area to its browse and drop support. What differs is given as settings.
 */
(function (demo) {
  'use strict';

  /*
   * settings.pickedFirst: the library's file events name the file (or folder) picked before
   * the file itself (simple-uploader.js); settings.startEvent: the event after which files are
   * sent (resumable.js has no filesSubmitted); settings.controls(file): the row's pause,
   * resume and cancel, where the library's own methods are not enough.
   */
  demo.followResumableFamily = function (uploader, settings) {
    var first = settings.pickedFirst ? 1 : 0; // where an event's file is among its arguments
    var rows = {}; // uniqueIdentifier -> the page's row
    var fileOf = function (args) { return args[first]; };
    var rowOf = function (args) { return rows[fileOf(args).uniqueIdentifier]; };

    uploader.on('fileAdded', function (file) {
      var controls = settings.controls ? settings.controls(file) : {
        pause: function () { file.pause(); },
        resume: function () { file.resume(); },
        cancel: function () { file.cancel(); },
      };
      rows[file.uniqueIdentifier] = demo.addFile({
        name: file.name || file.fileName, // resumable.js calls it fileName
        path: file.relativePath,
        size: file.size,
        identifier: file.uniqueIdentifier,
        pause: controls.pause,
        resume: controls.resume,
        cancel: controls.cancel,
      });
    });
    // None of them starts by itself.
    uploader.on(settings.startEvent || 'filesSubmitted', function () { uploader.upload(); });
    uploader.on('fileProgress', function () { rowOf(arguments).progress(fileOf(arguments).progress()); });
    uploader.on('fileSuccess', function () { rowOf(arguments).sent(); });
    // The message follows the file: fileError(file, message), or (picked, file, message).
    uploader.on('fileError', function () { rowOf(arguments).failed(arguments[first + 1]); });

    var parts = demo.chooser(true);
    uploader.assignBrowse(parts.files);
    uploader.assignBrowse(parts.folder, true);
    uploader.assignDrop(parts.dropArea);
  };
})(window.ChunkyardDemo);
