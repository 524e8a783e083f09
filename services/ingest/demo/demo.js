/*
 * Chunkyard demo page: resumable.js uploads to /upload, then follows each file's merge
 * through the server-sent events of /events?id=... (the page's own uploads: without
 * upload tokens nobody may watch uploads they do not name) until it is stored, failed or
 * cancelled.
 *
 * Page options (query string): chunkSize (bytes, default 1 MiB), simultaneous (default 4).
 * An upload token, when the server wants one, goes in the fragment: #token=<jwt>.
 */
(function () {
  'use strict';

  var MiB = 1024 * 1024;
  var params = new URLSearchParams(location.search);
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  var chunkSize = Number(params.get('chunkSize')) || MiB;
  var simultaneous = Number(params.get('simultaneous')) || 4;

  var list = document.getElementById('files');
  var template = document.getElementById('file-row');
  var summary = document.getElementById('summary');
  var pauseAll = document.getElementById('pause-all');
  var resumeAll = document.getElementById('resume-all');
  var dropzone = document.getElementById('dropzone');

  if (typeof Resumable === 'undefined' || !new Resumable().support) {
    document.getElementById('unsupported').hidden = false;
    dropzone.hidden = true;
    return;
  }

  /*
   * Identifiers must not collide between two people (the libraries' default, size plus
   * name, does), yet must be the same when this browser picks the same file again after
   * a reload, so the upload resumes. So: a random id kept by this browser, hashed with
   * the file's path, size and modification time.
   */
  function browserId() {
    var key = 'chunkyard.browser-id';
    var id = localStorage.getItem(key);
    if (!id) {
      id = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
      localStorage.setItem(key, id);
    }
    return id;
  }

  function identifierFor(file) {
    var path = file.relativePath || file.webkitRelativePath || file.name;
    var text = [browserId(), path, file.size, file.lastModified].join('\n');
    return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) { return b.toString(16).padStart(2, '0'); }).join('');
      return 'cy-' + hex.slice(0, 40);
    });
  }

  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var r = new Resumable({
    target: '/upload',
    chunkSize: chunkSize,
    simultaneousUploads: simultaneous,
    testChunks: true,
    minFileSize: 0,
    generateUniqueIdentifier: identifierFor,
    headers: headers,
    // 503 (shutting down, Redis away) and 507 (disk full) pass: retry them, a second apart.
    maxChunkRetries: 30,
    chunkRetryInterval: 1000,
    permanentErrors: [400, 401, 403, 404, 409, 413, 415, 500, 501],
  });

  var rows = {}; // identifier -> { file, el, phase }

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + ' B';
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    var value = bytes;
    var unit = -1;
    do { value /= 1024; unit++; } while (value >= 1024 && unit < units.length - 1);
    return value.toFixed(value < 10 ? 1 : 0) + ' ' + units[unit];
  }

  function setText(row, selector, text) {
    row.el.querySelector(selector).textContent = text;
  }

  /* Phases: waiting, uploading, paused, merging, done, failed, cancelled. */
  function show(row, phase, status, percent) {
    row.phase = phase;
    row.el.dataset.phase = phase;
    setText(row, '.status', status);
    var bar = row.el.querySelector('progress');
    if (typeof percent === 'number') bar.value = Math.max(0, Math.min(100, percent));
    var finished = phase === 'done' || phase === 'failed' || phase === 'cancelled';
    var merging = phase === 'merging';
    row.el.querySelector('.pause').hidden = finished || merging || phase === 'paused';
    row.el.querySelector('.resume').hidden = phase !== 'paused';
    row.el.querySelector('.cancel').hidden = finished || merging;
    updateSummary();
  }

  function updateSummary() {
    var all = Object.keys(rows).map(function (id) { return rows[id]; });
    var count = function (phase) { return all.filter(function (row) { return row.phase === phase; }).length; };
    var active = all.length - count('done') - count('failed') - count('cancelled');
    var parts = [];
    if (count('uploading') + count('waiting')) parts.push((count('uploading') + count('waiting')) + ' uploading');
    if (count('paused')) parts.push(count('paused') + ' paused');
    if (count('merging')) parts.push(count('merging') + ' merging');
    if (count('done')) parts.push(count('done') + ' stored');
    if (count('failed')) parts.push(count('failed') + ' failed');
    if (count('cancelled')) parts.push(count('cancelled') + ' cancelled');
    summary.textContent = all.length === 0 ? 'No files yet.' : parts.join(' · ');
    pauseAll.disabled = count('uploading') + count('waiting') === 0;
    resumeAll.disabled = count('paused') === 0;
    document.title = active > 0 ? '(' + active + ') Chunkyard · resumable uploads' : 'Chunkyard · resumable uploads';
  }

  function showResult(row, upload) {
    var result = row.el.querySelector('.result');
    var exact = upload.size === 1 ? '1 byte' : upload.size.toLocaleString('en') + ' bytes';
    setText(row, '.result-size', upload.size < 1024 ? exact : formatBytes(upload.size) + ' (' + exact + ')');
    setText(row, '.result-sha256', upload.sha256);
    setText(row, '.result-path', upload.path);
    result.hidden = false;
    show(row, 'done', 'Stored', 100);
  }

  function errorText(message) {
    try {
      var body = JSON.parse(message);
      if (body && body.error && body.error.message) return body.error.message;
    } catch (ignored) { /* not JSON: a network error */ }
    return message ? String(message) : 'The connection failed.';
  }

  /* The upload's state on the server: for files added after their events went by. */
  function applyServerState(row, upload) {
    if (!upload || row.phase === 'cancelled') return;
    if (upload.state === 'complete' && upload.sha256) showResult(row, upload);
    else if (upload.state === 'failed') show(row, 'failed', 'Failed: ' + (upload.error || 'the merge failed'), 100);
    else if (upload.state === 'cancelled') show(row, 'cancelled', 'Cancelled');
    else if (upload.state === 'merging') show(row, 'merging', 'Merging ' + (upload.progress || 0) + ' %', upload.progress || 0);
    else if (upload.state === 'queued') show(row, 'merging', 'Queued for merging', 0);
  }

  function fetchStatus(row) {
    var id = row.file.uniqueIdentifier;
    fetch('/uploads/' + encodeURIComponent(id), { headers: headers })
      .then(function (response) { return response.ok ? response.json() : undefined; })
      .then(function (upload) { applyServerState(row, upload); })
      .catch(function () { /* the event stream will tell */ });
  }

  function addRow(file) {
    var el = template.content.firstElementChild.cloneNode(true);
    var row = { file: file, el: el, phase: 'waiting' };
    rows[file.uniqueIdentifier] = row;
    el.dataset.identifier = file.uniqueIdentifier;
    var path = file.relativePath || file.fileName;
    setText(row, '.name', file.fileName);
    setText(row, '.path', path !== file.fileName ? path : '');
    setText(row, '.size', formatBytes(file.size));
    el.querySelector('progress').setAttribute('aria-label', 'Progress of ' + file.fileName);
    el.querySelector('.pause').setAttribute('aria-label', 'Pause ' + file.fileName);
    el.querySelector('.resume').setAttribute('aria-label', 'Resume ' + file.fileName);
    el.querySelector('.cancel').setAttribute('aria-label', 'Cancel ' + file.fileName);
    el.querySelector('.pause').addEventListener('click', function () { pause(row); });
    el.querySelector('.resume').addEventListener('click', function () { resume(row); });
    el.querySelector('.cancel').addEventListener('click', function () { cancel(row); });
    list.insertBefore(el, list.firstChild);
    show(row, 'waiting', 'Waiting', 0);
    return row;
  }

  function pause(row) {
    row.file.pause(true);
    row.file.abort(); // in-flight chunks are dropped; the server keeps those it stored
    show(row, 'paused', 'Paused at ' + Math.floor(row.file.progress() * 100) + ' %');
    r.upload(); // the other files carry on (resumable.js skips paused ones)
  }

  function resume(row) {
    row.file.pause(false);
    show(row, 'uploading', 'Uploading ' + Math.floor(row.file.progress() * 100) + ' %');
    r.upload();
  }

  function cancel(row) {
    var id = row.file.uniqueIdentifier;
    row.file.cancel();
    show(row, 'cancelled', 'Cancelled');
    r.upload();
    // Tell the server too, so it drops the chunks it already stored.
    fetch('/uploads/' + encodeURIComponent(id), { method: 'DELETE', headers: headers }).catch(function () {});
  }

  r.on('fileAdded', function (file) {
    var existing = rows[file.uniqueIdentifier];
    if (existing) {
      // The same file again (after a reload, or to retry): carry on with it.
      existing.file = file;
      existing.el.querySelector('.result').hidden = true;
    } else {
      addRow(file);
      listen();
    }
    r.upload();
  });

  r.on('fileProgress', function (file) {
    var row = rows[file.uniqueIdentifier];
    if (!row || row.phase === 'paused' || row.phase === 'cancelled' || row.phase === 'merging' || row.phase === 'done') return;
    var percent = Math.floor(file.progress() * 100);
    show(row, 'uploading', 'Uploading ' + percent + ' %', percent);
  });

  r.on('fileSuccess', function (file) {
    var row = rows[file.uniqueIdentifier];
    if (!row || row.phase === 'done') return;
    show(row, 'merging', 'Queued for merging', 0);
    fetchStatus(row);
  });

  r.on('fileError', function (file, message) {
    var row = rows[file.uniqueIdentifier];
    if (row && row.phase !== 'cancelled') show(row, 'failed', 'Failed: ' + errorText(message));
  });

  pauseAll.addEventListener('click', function () {
    Object.keys(rows).forEach(function (id) {
      var row = rows[id];
      if (row.phase === 'uploading' || row.phase === 'waiting') pause(row);
    });
  });
  resumeAll.addEventListener('click', function () {
    Object.keys(rows).forEach(function (id) {
      if (rows[id].phase === 'paused') resume(rows[id]);
    });
  });

  /*
   * One event stream for the page's uploads (one connection, however many files), naming
   * them; opened again, a moment after a file is added, to name the new one too.
   */
  var events;
  var reopenTimer;
  function listen() {
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(openStream, 100);
  }
  function openStream() {
    if (events) events.close();
    var ids = Object.keys(rows).slice(-100);
    if (ids.length === 0) return;
    var query = ids.map(function (id) { return 'id=' + encodeURIComponent(id); });
    if (token) query.push('token=' + encodeURIComponent(token));
    events = new EventSource('/events?' + query.join('&'));
    function onEvent(event) {
      var data = JSON.parse(event.data);
      var row = rows[data.identifier];
      if (!row) return;
      if (event.type === 'progress') {
        if (row.phase !== 'done') show(row, 'merging', 'Merging ' + data.percent + ' %', data.percent);
      } else if (data.state === 'complete') {
        showResult(row, data);
      } else if (data.state === 'merging' && row.phase !== 'done') {
        show(row, 'merging', 'Merging 0 %', 0);
      } else if (data.state === 'failed') {
        show(row, 'failed', 'Failed: ' + (data.error || 'the merge failed'), 100);
      }
    }
    ['chunk', 'state', 'progress'].forEach(function (type) { events.addEventListener(type, onEvent); });
    // EventSource reconnects by itself; what happened in between comes from the status.
    events.addEventListener('open', function () {
      Object.keys(rows).forEach(function (id) { if (rows[id].phase === 'merging') fetchStatus(rows[id]); });
    });
  }

  // Events can be missed (a proxy dropping the stream, a reconnect): ask now and then too.
  setInterval(function () {
    Object.keys(rows).forEach(function (id) { if (rows[id].phase === 'merging') fetchStatus(rows[id]); });
  }, 3000);

  r.assignBrowse(document.getElementById('choose-files'));
  r.assignBrowse(document.getElementById('choose-folder'), true);
  r.assignDrop(dropzone);
  ['dragenter', 'dragover'].forEach(function (type) {
    dropzone.addEventListener(type, function () { dropzone.classList.add('is-over'); });
  });
  ['dragleave', 'drop'].forEach(function (type) {
    dropzone.addEventListener(type, function () { dropzone.classList.remove('is-over'); });
  });
  updateSummary();
})();
