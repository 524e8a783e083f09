/*
 * Chunkyard demo page: what every library shares. The server picks the library by ?client=
 * and loads its glue module, clients/<name>.js, after this file; the module sends files with
 * its library and tells the page about each one through window.ChunkyardDemo. This file keeps
 * the list of files and, once a file's bytes are sent, follows its merge through the
 * server-sent events of /events?id=... (the page's own uploads: without upload tokens nobody
 * may watch uploads they do not name) and GET /uploads/:id, until it is stored, failed or
 * cancelled; then it shows the file's size, SHA-256 and where it was stored.
 *
 * Page options (query string): client (the library), chunkSize (bytes; default: the
 * library's own), simultaneous (uploads or chunks at once, where the library has such a
 * setting; default 4). An upload token, when the server wants one, goes in the fragment:
 * #token=<jwt>.
 */
window.ChunkyardDemo = (function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  var options = {
    chunkSize: Number(params.get('chunkSize')) || undefined,
    simultaneous: Number(params.get('simultaneous')) || 4,
    token: token,
    // Sent with every request, the libraries' own and the page's.
    headers: token ? { Authorization: 'Bearer ' + token } : {},
  };

  var list = document.getElementById('files');
  var template = document.getElementById('file-row');
  var summary = document.getElementById('summary');
  var queueActions = document.getElementById('queue-actions');
  var pauseAll = document.getElementById('pause-all');
  var resumeAll = document.getElementById('resume-all');
  var dropArea = document.getElementById('drop-area');
  var pageTitle = document.title;

  // Another library keeps the page's options (and the token in the fragment).
  Array.prototype.forEach.call(document.querySelectorAll('.picker a'), function (link) {
    var next = new URLSearchParams(params);
    next.set('client', new URL(link.href).searchParams.get('client'));
    link.search = '?' + next;
    link.hash = location.hash;
  });

  /*
   * Identifiers must not collide between two people (the libraries' default, size plus name,
   * does), yet must be the same when this browser picks the same file again after a reload,
   * so the upload resumes. So: a random id kept by this browser, hashed with the file's path,
   * size and modification time. Synchronous, because flow.js and simple-uploader.js need it so.
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

  /* cyrb53 (public domain): a well-mixed 53-bit hash; two seeds give 106 bits. */
  function hash53(text, seed) {
    var h1 = 0xdeadbeef ^ seed;
    var h2 = 0x41c6ce57 ^ seed;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
  }

  function identifierFor(file) {
    var path = file.relativePath || file.webkitRelativePath || file.name;
    var text = [browserId(), path, file.size, file.lastModified].join('\n');
    return 'cy-' + hash53(text, 1) + hash53(text, 2);
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + ' B';
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    var value = bytes;
    var unit = -1;
    do { value /= 1024; unit++; } while (value >= 1024 && unit < units.length - 1);
    return value.toFixed(value < 10 ? 1 : 0) + ' ' + units[unit];
  }

  /* A failure as the libraries hand it over: a JSON answer ({"error": {"message"}} or {"error": "..."}), plain text, or nothing. */
  function errorText(message) {
    var body = message;
    if (typeof message === 'string') {
      try { body = JSON.parse(message); } catch (ignored) { /* plain text */ }
    }
    var error = body && body.error;
    if (error && error.message) return error.message;
    if (typeof error === 'string') return error;
    if (message instanceof Error) return message.message;
    return message && typeof message !== 'object' ? String(message) : 'The connection failed.';
  }

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
    listen();
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
    fetchStatus(this);
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
      fetch('/uploads/' + encodeURIComponent(this.identifier), { method: 'DELETE', headers: options.headers }).catch(function () {});
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
    var parts = [];
    if (sending) parts.push(sending + ' uploading');
    if (count('paused')) parts.push(count('paused') + ' paused');
    if (count('merging')) parts.push(count('merging') + ' merging');
    if (count('done')) parts.push(count('done') + ' stored');
    if (count('failed')) parts.push(count('failed') + ' failed');
    if (count('cancelled')) parts.push(count('cancelled') + ' cancelled');
    summary.textContent = rows.length === 0 ? 'No files yet.' : parts.join(' · ');
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

  /* The upload's state on the server: for files whose events went by before the page knew them. */
  function applyServerState(row, upload) {
    if (!upload || row.phase === 'cancelled') return;
    if (upload.state === 'complete' && upload.sha256) row.showResult(upload);
    else if (upload.state === 'failed') row.show('failed', 'Failed: ' + (upload.error || 'the merge failed'), 100);
    else if (upload.state === 'cancelled') row.show('cancelled', 'Cancelled');
    else if (upload.state === 'merging') row.show('merging', 'Merging ' + (upload.progress || 0) + ' %', upload.progress || 0);
    else if (upload.state === 'queued') row.show('merging', 'Queued for merging', 0);
  }

  function fetchStatus(row) {
    if (!row.identifier) return;
    fetch('/uploads/' + encodeURIComponent(row.identifier), { headers: options.headers })
      .then(function (response) { return response.ok ? response.json() : undefined; })
      .then(function (upload) { applyServerState(row, upload); })
      .catch(function () { /* the event stream will tell */ });
  }

  /*
   * One event stream for the page's uploads (one connection, however many files), naming
   * them; opened again, a moment after an upload gets its identifier, to name that one too.
   */
  var events;
  var reopenTimer;
  function listen() {
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(openStream, 100);
  }
  function openStream() {
    if (events) events.close();
    var ids = Object.keys(byIdentifier).filter(function (id) { return !byIdentifier[id].finished(); }).slice(-100);
    if (ids.length === 0) return;
    var query = ids.map(function (id) { return 'id=' + encodeURIComponent(id); });
    if (token) query.push('token=' + encodeURIComponent(token));
    events = new EventSource('/events?' + query.join('&'));
    function onEvent(event) {
      var data = JSON.parse(event.data);
      var row = byIdentifier[data.identifier];
      if (!row) return;
      if (event.type === 'progress') {
        if (row.phase !== 'done') row.show('merging', 'Merging ' + data.percent + ' %', data.percent);
      } else if (data.state === 'complete') {
        row.showResult(data);
      } else if (data.state === 'merging' && row.phase !== 'done') {
        row.show('merging', 'Merging 0 %', 0);
      } else if (data.state === 'failed') {
        row.show('failed', 'Failed: ' + (data.error || 'the merge failed'), 100);
      }
    }
    ['chunk', 'state', 'progress'].forEach(function (type) { events.addEventListener(type, onEvent); });
    // EventSource reconnects by itself; what happened in between comes from the status.
    events.addEventListener('open', function () {
      rows.forEach(function (row) { if (row.phase === 'merging') fetchStatus(row); });
    });
  }

  // Events can be missed (a proxy dropping the stream, a reconnect): ask now and then too.
  setInterval(function () {
    rows.forEach(function (row) { if (row.phase === 'merging') fetchStatus(row); });
  }, 3000);

  /*
   * Where files come from. Libraries with a widget of their own (Dropzone, FilePond, Uppy)
   * get the drop area for it; the others use the page's buttons and drop area, through
   * their own browse and drop support or, lacking it, through pick().
   */
  function chooser(folders) {
    document.getElementById('choose-folder').hidden = !folders;
    document.getElementById('drop-title').textContent = folders ? 'Drop files or folders here' : 'Drop files here';
    ['dragenter', 'dragover'].forEach(function (type) {
      dropArea.addEventListener(type, function () { dropArea.classList.add('is-over'); });
    });
    ['dragleave', 'drop'].forEach(function (type) {
      dropArea.addEventListener(type, function () { dropArea.classList.remove('is-over'); });
    });
    return { files: document.getElementById('choose-files'), folder: document.getElementById('choose-folder'), dropArea: dropArea };
  }

  /* A file input behind `button`, made by the page: it hands the chosen files to onFiles. */
  function browse(button, onFiles) {
    var input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.hidden = true;
    button.appendChild(input);
    button.addEventListener('click', function (event) { if (event.target !== input) input.click(); });
    input.addEventListener('change', function () {
      onFiles(Array.prototype.slice.call(input.files));
      input.value = ''; // the same file may be chosen again
    });
  }

  /* The page's own file input and drop handling, for libraries that take File objects. */
  function pick(onFiles) {
    var parts = chooser(false);
    browse(parts.files, onFiles);
    dropArea.addEventListener('dragover', function (event) { event.preventDefault(); });
    dropArea.addEventListener('drop', function (event) {
      event.preventDefault();
      onFiles(Array.prototype.slice.call(event.dataTransfer.files));
    });
    return parts;
  }

  function widget() {
    document.getElementById('chooser').hidden = true;
    var box = document.getElementById('widget');
    box.hidden = false;
    dropArea.classList.add('has-widget');
    return box;
  }

  function unsupported() {
    document.getElementById('unsupported').hidden = false;
    dropArea.hidden = true;
  }

  updateSummary();
  return {
    options: options,
    identifierFor: identifierFor,
    errorText: errorText,
    addFile: addFile,
    chooser: chooser,
    browse: browse,
    pick: pick,
    widget: widget,
    unsupported: unsupported,
  };
})();
