/*
 * Chunkyard demo page, first of its own scripts (then demo-rows.js, demo-merges.js,
 * demo-pickers.js; the server loads them in that order, then the library's glue module,
 * clients/<name>.js). The page is split into these plain scripts, not modules, so that the glue
 * modules keep working as they are: they talk to the page only through window.ChunkyardDemo,
 * which demo-pickers.js, the last, puts together. Until then the scripts share their parts
 * through window.ChunkyardDemoParts.
 *
 * The page keeps the list of files and, once a file's bytes are sent, follows its merge until
 * it is stored, failed or cancelled; then it shows the file's size, SHA-256 and where it was
 * stored.
 *
 * This file: the page's options, the picker's links, each file's identifier, and formatting.
 *
 * Page options (query string): client (the library), chunkSize (bytes; default: the
 * library's own), simultaneous (uploads or chunks at once, where the library has such a
 * setting; default 4). An upload token, when the server wants one, goes in the fragment:
 * #token=<jwt>.
 */
window.ChunkyardDemoParts = (function () {
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

  return {
    options: options,
    identifierFor: identifierFor,
    formatBytes: formatBytes,
    errorText: errorText,
  };
})();
