/*
 * Chunkyard demo page: following each upload's merge once its bytes are sent, through the
 * server-sent events of /events?id=... (the page's own uploads: without upload tokens nobody
 * may watch uploads they do not name) and GET /uploads/:id, until it is stored, failed or
 * cancelled. Rows (demo-rows.js) call listen() when they get an identifier and fetchStatus()
 * when the library is done with a file.
 */
(function (parts) {
  'use strict';

  var rows = parts.rows;
  var byIdentifier = parts.byIdentifier;
  var options = parts.options;

  /* The upload's state on the server: for files whose events went by before the page knew them. */
  function applyServerState(row, upload) {
    // An answer asked for while merging can arrive after the events finished the row: never go back.
    if (!upload || row.finished()) return;
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
    if (options.token) query.push('token=' + encodeURIComponent(options.token));
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

  parts.listen = listen;
  parts.fetchStatus = fetchStatus;
})(window.ChunkyardDemoParts);
