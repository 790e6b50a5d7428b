#!/usr/bin/env node
// Build step after tsc: bundles the command line (dist/cli/main.js) and the encode worker it
// starts into dist/cli-bundle/, which bin/ota-build.js runs: an entry and a few shared chunks
// load at start, the rest (one chunk per lazily imported command library) when used, instead of
// ~200 modules one by one. That saves every command ~30 ms of start-up (an apply of a one-block
// package: 208 ms, bundled 179 ms, means of 10 runs). Packages in node_modules stay outside the
// bundle: bundling them too saved ~12 ms more, but needs a require() shim for their CommonJS and
// puts their code in dist/. The chunks sit two folders below the package root, as every file of
// dist/ does, so their paths to profiles/, insecure-test-keys/ and package.json are the same; the
// library (dist/index.js) is tsc's output as it is. Only files whose bytes changed are written
// and only chunks no longer made are removed, so a CLI already running from dist/ (a second test
// run, a bench) still finds the chunks it loads later when nothing changed.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'cli-bundle');
const { outputFiles } = await build({
  entryPoints: [join(root, 'dist/cli/main.js'), join(root, 'dist/pipeline/encode-worker.js')],
  outdir,
  entryNames: '[name]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  write: false,
});
mkdirSync(outdir, { recursive: true });
const made = new Set();
for (const file of outputFiles) {
  made.add(file.path);
  let current;
  try {
    current = readFileSync(file.path);
  } catch {
    // not made before
  }
  if (!current?.equals(file.contents)) writeFileSync(file.path, file.contents);
}
for (const name of readdirSync(outdir)) {
  if (!made.has(join(outdir, name))) rmSync(join(outdir, name), { recursive: true, force: true });
}
