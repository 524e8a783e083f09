/*
 * Chunkyard demo page, last of its own scripts: where files come from (the page's buttons,
 * drop area and file inputs, or a box for the library's own widget), and window.ChunkyardDemo,
 * the one thing the glue modules (clients/<name>.js, loaded after this file) use. It is put
 * together here from the parts the earlier scripts left in window.ChunkyardDemoParts, which is
 * then removed, so that the glue modules cannot come to lean on the page's insides.
 */
window.ChunkyardDemo = (function (parts) {
  'use strict';

  var dropArea = document.getElementById('drop-area');

  /*
   * Libraries with a widget of their own (Dropzone, FilePond, Uppy) get the drop area for it;
   * the others use the page's buttons and drop area, through their own browse and drop
   * support or, lacking it, through pick().
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
    var found = chooser(false);
    browse(found.files, onFiles);
    dropArea.addEventListener('dragover', function (event) { event.preventDefault(); });
    dropArea.addEventListener('drop', function (event) {
      event.preventDefault();
      onFiles(Array.prototype.slice.call(event.dataTransfer.files));
    });
    return found;
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

  delete window.ChunkyardDemoParts;
  return {
    options: parts.options,
    identifierFor: parts.identifierFor,
    errorText: parts.errorText,
    addFile: parts.addFile,
    chooser: chooser,
    browse: browse,
    pick: pick,
    widget: widget,
    unsupported: unsupported,
  };
})(window.ChunkyardDemoParts);
