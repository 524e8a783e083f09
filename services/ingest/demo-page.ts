/**
 * The demo upload page at `/`, in one variant per browser library (`/?client=<name>`), and the
 * files it needs under /assets/: the page's own scripts and style, one small glue module per
 * library (demo/clients/<name>.js), and each library's browser build from its npm package,
 * never a CDN. Fixed lists of files, read once at start (a missing package stops the ingest
 * there, not a visitor's page later): no path is ever taken from a request.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Middleware } from 'koa';

interface Asset {
  body: Buffer;
  type: string;
  cacheControl: string;
}

interface DemoClient {
  /** The `?client=` value, and the name of its glue module, demo/clients/<name>.js. */
  name: string;
  label: string;
  /** The files of the library's npm package that the page loads, in order. */
  files: string[];
}

/** The picker's libraries, in the order it offers them; the first is the page's default. */
export const DEMO_CLIENTS: readonly DemoClient[] = [
  { name: 'resumable', label: 'resumable.js', files: ['resumablejs/resumable.js'] },
  { name: 'flow', label: 'flow.js', files: ['@flowjs/flow.js/dist/flow.min.js'] },
  { name: 'simple-uploader', label: 'simple-uploader.js', files: ['simple-uploader.js/dist/uploader.min.js'] },
  { name: 'dropzone', label: 'Dropzone', files: ['dropzone/dist/dropzone.css', 'dropzone/dist/dropzone-min.js'] },
  { name: 'filepond', label: 'FilePond', files: ['filepond/dist/filepond.min.css', 'filepond/dist/filepond.min.js'] },
  { name: 'fine-uploader', label: 'Fine Uploader', files: ['fine-uploader/fine-uploader/fine-uploader.core.min.js'] },
  { name: 'plupload', label: 'Plupload', files: ['plupload/js/plupload.full.min.js'] },
  { name: 'uppy', label: 'Uppy', files: ['uppy/dist/uppy.min.css', 'uppy/dist/uppy.min.js'] },
  { name: 'tus-js-client', label: 'tus-js-client', files: ['tus-js-client/dist/tus.min.js'] },
];

const require = createRequire(import.meta.url);
const local = (name: string) => new URL(`./demo/${name}`, import.meta.url);
/** A library file's URL: its file name under /assets/lib/ (the names are unique). */
const libraryUrl = (file: string) => `/assets/lib/${path.basename(file)}`;
const SCRIPT = 'text/javascript; charset=utf-8';
const STYLE = 'text/css; charset=utf-8';

/**
 * The page's own scripts, plain scripts loaded in this order before the library's glue module:
 * each uses what the ones before it set up; demo-pickers.js puts together window.ChunkyardDemo,
 * and demo-resumable-family.js adds the wiring the three resumable.js-like libraries share.
 */
const PAGE_SCRIPTS = ['demo-options.js', 'demo-rows.js', 'demo-merges.js', 'demo-pickers.js', 'demo-resumable-family.js'];

/*
 * The page loads only its own scripts and styles and talks only to its own origin. Images may
 * also be data: and blob: URLs: the thumbnails Dropzone and Uppy make of picked images.
 */
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page for one library: its picker marks that library, and it loads that library's files. */
function renderPage(template: string, client: DemoClient): Buffer {
  const picker = DEMO_CLIENTS.map(({ name, label }) =>
    `<li><a href="/?client=${name}"${name === client.name ? ' aria-current="page"' : ''}>${label}</a></li>`).join('\n        ');
  const styles = client.files.filter((file) => file.endsWith('.css')).map((file) => `<link rel="stylesheet" href="${libraryUrl(file)}">`);
  const scripts = client.files.filter((file) => file.endsWith('.js')).map((file) => `<script src="${libraryUrl(file)}"></script>`);
  scripts.push(...PAGE_SCRIPTS.map((file) => `<script src="/assets/${file}"></script>`), `<script src="/assets/clients/${client.name}.js"></script>`);
  const html = template
    .replace('<!--@library-styles-->', styles.join('\n  '))
    .replace('<!--@picker-->', picker)
    .replace('<!--@client-->', client.label)
    .replace('<!--@scripts-->', scripts.join('\n  '));
  return Buffer.from(html);
}

function loadAssets(): { pages: Map<string, Buffer>; assets: Map<string, Asset> } {
  const asset = { cacheControl: 'public, max-age=300' };
  const template = readFileSync(local('index.html'), 'utf8');
  const pages = new Map(DEMO_CLIENTS.map((client) => [client.name, renderPage(template, client)]));
  const assets = new Map<string, Asset>([
    ...PAGE_SCRIPTS.map((file): [string, Asset] => [`/assets/${file}`, { ...asset, type: SCRIPT, body: readFileSync(local(file)) }]),
    ['/assets/demo.css', { ...asset, type: STYLE, body: readFileSync(local('demo.css')) }],
  ]);
  for (const client of DEMO_CLIENTS) {
    assets.set(`/assets/clients/${client.name}.js`, { ...asset, type: SCRIPT, body: readFileSync(local(`clients/${client.name}.js`)) });
    for (const file of client.files) {
      if (assets.has(libraryUrl(file))) throw new Error(`demo page: two library files named ${libraryUrl(file)}`);
      assets.set(libraryUrl(file), { ...asset, type: file.endsWith('.css') ? STYLE : SCRIPT, body: readFileSync(require.resolve(file)) });
    }
  }
  return { pages, assets };
}

export function demoPage(): Middleware {
  const { pages, assets } = loadAssets();
  const defaultPage = pages.get(DEMO_CLIENTS[0]!.name)!;
  return async function serveDemoPage(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/') {
      // An unknown ?client= gets the default library (the picker shows which one it is).
      const client = ctx.query.client;
      ctx.set('Cache-Control', 'no-cache');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Content-Security-Policy', PAGE_POLICY);
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = (typeof client === 'string' && pages.get(client)) || defaultPage;
      return;
    }
    const asset = assets.get(ctx.path);
    if (!asset) return next();
    ctx.set('Cache-Control', asset.cacheControl);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
