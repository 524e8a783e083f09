/**
 * The packages compiled code loads at run time: every bare specifier in dist/'s
 * JavaScript (static and dynamic imports, re-exports, require and require.resolve),
 * reduced to its package name. Node's own modules are left out.
 */
import { readdir, readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';

const SPECIFIER_PATTERNS = [
  /\bfrom\s*['"]([^'"]+)['"]/g, // import … from 'x', export … from 'x'
  /\bimport\s*['"]([^'"]+)['"]/g, // import 'x'
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x')
  /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g, // require('x'), require.resolve('x')
];

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

async function javascriptFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.(c|m)?js$/.test(e.name)).map((e) => path.join(e.parentPath, e.name));
}

/** Package name → the files (relative to `distDir`) that load it. */
export async function runtimePackages(distDir: string): Promise<Map<string, string[]>> {
  const packages = new Map<string, string[]>();
  for (const file of await javascriptFiles(distDir)) {
    const source = await readFile(file, 'utf8');
    for (const pattern of SPECIFIER_PATTERNS) {
      for (const match of source.matchAll(pattern)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) continue;
        const name = packageName(specifier);
        const users = packages.get(name) ?? [];
        users.push(path.relative(distDir, file));
        packages.set(name, users);
      }
    }
  }
  return packages;
}
