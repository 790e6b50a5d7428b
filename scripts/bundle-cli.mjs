#!/usr/bin/env node
// Build step after tsc: bundles the command line (dist/cli/main.js) and the encode worker it
// starts into dist/cli-bundle/, which bin/ota-build.js runs. Loading ~200 ES modules one by one
// cost every command ~30 ms of its start-up (an apply of a one-block package: 208 ms, bundled
// 179 ms, means of 10 runs). Packages in node_modules stay outside the bundle: bundling them too
// saved ~12 ms more, but needs a require() shim for their CommonJS and puts their code in dist/.
// The chunks sit two folders below the package root, as every file of dist/ does, so their paths
// to profiles/, insecure-test-keys/ and package.json are the same; the library (dist/index.js)
// is tsc's output as it is.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli-bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/cli/main.js`, `${root}dist/pipeline/encode-worker.js`],
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
});
