/*
 * Chunkyard demo page: the list of files, one row per file, and the summary above it (counts
 * per phase, the page title, Pause all and Resume all). A row hands its merge to
 * demo-merges.js, loaded after this file: it calls parts.listen() and parts.fetchStatus()
 * only once a file is under way, by when every script of the page has run.
 */
(function (parts) {
  'use strict';

  var list = document.getElementById('files');
  var template = document.getElementById('file-row');
  var summary = document.getElementById('summary');
  var queueActions = document.getElementById('queue-actions');
  var pauseAll = document.getElementById('pause-all');
  var resumeAll = document.getElementById('resume-all');
  var pageTitle = document.title;
  var formatBytes = parts.formatBytes;
  var errorText = parts.errorText;

  var rows = [];
  var byIdentifier = {};

  /*
   * One row per file. The library's module calls identify() once it knows the upload's id on
   * the server, progress() while bytes go, sent() when the library is done with the file (the
   * page then follows the merge), failed() or cancelled(). Phases: waiting, uploading, paused,
   * merging, done, failed, cancelled.
   */
  function Row(file) {
    var self = this;
    this.el = template.content.firstElementChild.cloneNode(true);
    this.name = file.name;
    this.phase = 'waiting';
    this.percent = 0;
    this.controls = file;
    var path = file.path || file.name;
    this.setText('.name', file.name);
    this.setText('.path', path !== file.name ? path : '');
    this.setText('.size', formatBytes(file.size));
    this.el.querySelector('progress').setAttribute('aria-label', 'Progress of ' + file.name);
    ['pause', 'resume', 'cancel'].forEach(function (action) {
      var button = self.el.querySelector('.' + action);
      button.setAttribute('aria-label', button.textContent + ' ' + file.name);
      button.addEventListener('click', function () { self[action](); });
    });
    list.insertBefore(this.el, list.firstChild);
    rows.push(this);
    if (file.identifier) this.identify(file.identifier);
    this.show('waiting', 'Waiting', 0);
  }

  Row.prototype.setText = function (selector, text) {
    this.el.querySelector(selector).textContent = text;
  };

  Row.prototype.show = function (phase, status, percent) {
    this.phase = phase;
    this.el.dataset.phase = phase;
    this.setText('.status', status);
    if (typeof percent === 'number') this.el.querySelector('progress').value = Math.max(0, Math.min(100, percent));
    var sending = phase === 'waiting' || phase === 'uploading';
    this.el.querySelector('.pause').hidden = !this.controls.pause || !sending;
    this.el.querySelector('.resume').hidden = !this.controls.resume || phase !== 'paused';
    this.el.querySelector('.cancel').hidden = !this.controls.cancel || !(sending || phase === 'paused');
    updateSummary();
  };

  Row.prototype.finished = function () {
    return this.phase === 'done' || this.phase === 'failed' || this.phase === 'cancelled';
  };

  Row.prototype.identify = function (identifier) {
    if (this.identifier === identifier) return;
    this.identifier = identifier;
    this.el.dataset.identifier = identifier;
    byIdentifier[identifier] = this;
    parts.listen();
  };

  Row.prototype.progress = function (fraction) {
    if (this.phase !== 'waiting' && this.phase !== 'uploading') return;
    this.percent = Math.floor(fraction * 100);
    this.show('uploading', 'Uploading ' + this.percent + ' %', this.percent);
  };

  Row.prototype.sent = function (identifier) {
    if (identifier) this.identify(identifier);
    if (this.finished() || this.phase === 'merging') return;
    this.show('merging', 'Queued for merging', 0);
    parts.fetchStatus(this);
  };

  Row.prototype.failed = function (message) {
    if (this.phase !== 'cancelled') this.show('failed', 'Failed: ' + errorText(message));
  };

  /* Cancelled with the row's button, or in the library's own widget (while it was sending). */
  Row.prototype.cancelled = function () {
    if (this.phase !== 'waiting' && this.phase !== 'uploading' && this.phase !== 'paused') return;
    this.show('cancelled', 'Cancelled');
    // Tell the server too, so it drops what it already stored.
    if (this.identifier) {
      fetch('/uploads/' + encodeURIComponent(this.identifier), { method: 'DELETE', headers: parts.options.headers }).catch(function () {});
    }
  };

  Row.prototype.pause = function () {
    this.controls.pause();
    this.show('paused', 'Paused at ' + this.percent + ' %');
  };

  Row.prototype.resume = function () {
    this.show('uploading', 'Uploading ' + this.percent + ' %');
    this.controls.resume();
  };

  Row.prototype.cancel = function () {
    this.controls.cancel();
    this.cancelled();
  };

  Row.prototype.showResult = function (upload) {
    var exact = upload.size === 1 ? '1 byte' : upload.size.toLocaleString('en') + ' bytes';
    this.setText('.result-size', upload.size < 1024 ? exact : formatBytes(upload.size) + ' (' + exact + ')');
    this.setText('.result-sha256', upload.sha256);
    this.setText('.result-path', upload.path || upload.bucket + '/' + upload.key);
    this.el.querySelector('.result').hidden = false;
    this.show('done', 'Stored', 100);
  };

  /*
   * A file the library hands over: { name, path, size, identifier (when known already) } and,
   * where the library can, pause(), resume() and cancel() for the row's buttons. The same
   * file again (after a reload, or to retry) carries on in its row.
   */
  function addFile(file) {
    var row = file.identifier && byIdentifier[file.identifier];
    if (!row) return new Row(file);
    row.controls = file;
    row.el.querySelector('.result').hidden = true;
    row.show('waiting', 'Waiting', 0);
    return row;
  }

  function updateSummary() {
    var count = function (phase) { return rows.filter(function (row) { return row.phase === phase; }).length; };
    var sending = count('uploading') + count('waiting');
    var phrases = [];
    if (sending) phrases.push(sending + ' uploading');
    if (count('paused')) phrases.push(count('paused') + ' paused');
    if (count('merging')) phrases.push(count('merging') + ' merging');
    if (count('done')) phrases.push(count('done') + ' stored');
    if (count('failed')) phrases.push(count('failed') + ' failed');
    if (count('cancelled')) phrases.push(count('cancelled') + ' cancelled');
    summary.textContent = rows.length === 0 ? 'No files yet.' : phrases.join(' · ');
    queueActions.hidden = !rows.some(function (row) { return row.controls.pause; });
    pauseAll.disabled = sending === 0;
    resumeAll.disabled = count('paused') === 0;
    var active = sending + count('paused') + count('merging');
    document.title = active > 0 ? '(' + active + ') ' + pageTitle : pageTitle;
  }

  pauseAll.addEventListener('click', function () {
    rows.forEach(function (row) { if (row.controls.pause && (row.phase === 'uploading' || row.phase === 'waiting')) row.pause(); });
  });
  resumeAll.addEventListener('click', function () {
    rows.forEach(function (row) { if (row.phase === 'paused') row.resume(); });
  });

  updateSummary();
  parts.rows = rows;
  parts.byIdentifier = byIdentifier;
  parts.addFile = addFile;
})(window.ChunkyardDemoParts);
