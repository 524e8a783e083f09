/**
 * The demo upload page at `/`, and the files it needs under /assets/ (resumable.js comes
 * from the npm package, never a CDN). A fixed list of files, read once: no path is ever
 * taken from a request.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Middleware } from 'koa';

interface Asset {
  body: Buffer;
  type: string;
  cacheControl: string;
}

const require = createRequire(import.meta.url);
const local = (name: string) => new URL(`./demo/${name}`, import.meta.url);

// The page loads only its own scripts and styles and talks only to its own origin.
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function loadAssets(): Map<string, Asset> {
  const page = { cacheControl: 'no-cache', type: 'text/html; charset=utf-8' };
  const asset = { cacheControl: 'public, max-age=300' };
  return new Map<string, Asset>([
    ['/', { ...page, body: readFileSync(local('index.html')) }],
    ['/assets/demo.js', { ...asset, type: 'text/javascript; charset=utf-8', body: readFileSync(local('demo.js')) }],
    ['/assets/demo.css', { ...asset, type: 'text/css; charset=utf-8', body: readFileSync(local('demo.css')) }],
    ['/assets/resumable.js', { ...asset, type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('resumablejs')) }],
  ]);
}

export function demoPage(): Middleware {
  const assets = loadAssets();
  return async function serveDemoPage(ctx, next) {
    const asset = (ctx.method === 'GET' || ctx.method === 'HEAD') && assets.get(ctx.path);
    if (!asset) return next();
    ctx.set('Cache-Control', asset.cacheControl);
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (ctx.path === '/') ctx.set('Content-Security-Policy', PAGE_POLICY);
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
