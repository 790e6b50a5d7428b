#!/usr/bin/env node
// Install step (postinstall): compiles lzma-native's liblzma with optimisation. Its prebuilt
// linux binary links a liblzma configured with CFLAGS="-fPIC" alone, so autoconf's default -O2
// is dropped and every xz and LZMA2 encode and decode runs unoptimised code, about half as fast
// (a 64 MiB full package: build 11.9 -> 7.0 s, apply 1.04 -> 0.81 s). The same liblzma source at
// -O2 codes byte for byte the same streams, so packages do not change; only time does.
//
// node-gyp rebuilds the module in place (node_modules/lzma-native/build/Release, which
// node-gyp-build loads before the prebuilt one) with CFLAGS="-O2". Needs what zstd-napi's build
// already needs: a C/C++ compiler, make and python3. Without them, or with
// OTA_BUILD_LZMA_PREBUILT=1, the binary lzma-native came with stays, with a warning: slower, same
// packages. The step never fails an install. (npm shows a dependency's install output only with
// --foreground-scripts; run this file with node to see it.)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** Written beside the module once it was built and checked here; records how. */
const STAMP = 'ota-build-optimised.json';
/** A compile that takes longer (e.g. node-gyp fetching headers over a network that drops packets) is given up. */
const BUILD_TIMEOUT_MS = 15 * 60 * 1000;

function warn(message) {
  process.stderr.write(`ota-build: ${message}\n`);
}

/**
 * node-gyp's command: npm's own (lifecycle scripts get its path; run by hand, the one npm ships
 * beside this node), else one installed here, else PATH's.
 */
function nodeGypCommand() {
  const bundled = join(
    dirname(dirname(process.execPath)),
    'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  );
  for (const candidate of [process.env.npm_config_node_gyp, bundled]) {
    if (candidate && existsSync(candidate)) return [process.execPath, candidate];
  }
  try {
    const pkg = require.resolve('node-gyp/package.json');
    const bin = JSON.parse(readFileSync(pkg, 'utf8')).bin;
    return [process.execPath, join(dirname(pkg), typeof bin === 'string' ? bin : bin['node-gyp'])];
  } catch {
    return ['node-gyp'];
  }
}

/** Node's own headers beside its binary (official builds and distribution packages ship them), so nothing is downloaded. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** True when `dir`'s module, loaded in a fresh process, comes from build/Release and round-trips xz. */
function loadsOptimised(dir) {
  const probe = `
    const lzma = require(${JSON.stringify(dir)});
    const where = require('node-gyp-build').path(${JSON.stringify(dir)});
    if (!where.includes('/build/Release/')) process.exit(3);
    const input = Buffer.from('ota-build '.repeat(1000));
    lzma.compress(input, { preset: 6 }, (packed) =>
      lzma.decompress(packed, (out) => process.exit(Buffer.compare(out, input) === 0 ? 0 : 4)));`;
  return spawnSync(process.execPath, ['-e', probe], { cwd: dir, stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/** The stamp's contents, or undefined when there is none or it cannot be read. */
function readStamp(stampPath) {
  try {
    return JSON.parse(readFileSync(stampPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function main() {
  let dir;
  try {
    dir = dirname(require.resolve('lzma-native/package.json'));
  } catch {
    return; // not installed (e.g. a production install that omits it): nothing to do
  }
  if (process.platform === 'win32') return; // lzma-native links a prebuilt liblzma DLL there
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const build = join(dir, 'build');
  const stampPath = join(build, STAMP);
  const ours = readStamp(stampPath);
  if (process.env.OTA_BUILD_LZMA_PREBUILT === '1') {
    // Our build goes (lzma-native's own, on a platform without a prebuilt binary, stays).
    if (ours) rmSync(build, { recursive: true, force: true });
    warn(
      'OTA_BUILD_LZMA_PREBUILT=1: keeping lzma-native as it came (xz coding about 2x slower; packages are the same)',
    );
    return;
  }
  if (ours?.version === version && loadsOptimised(dir)) return;
  // A build of lzma-native's own (made where it ships no prebuilt binary) is set aside, and put
  // back should ours fail: a failed compile must never leave no binary at all.
  const aside = join(dir, 'build.ota-build-previous');
  rmSync(aside, { recursive: true, force: true });
  const hadOwn = !ours && existsSync(build);
  if (hadOwn) renameSync(build, aside);
  const logDir = mkdtempSync(join(tmpdir(), 'ota-build-lzma-'));
  const log = join(logDir, 'build.log');
  const [command, ...first] = nodeGypCommand();
  // Last, so it wins over an -O in the caller's CFLAGS (the test reads liblzma's Makefile).
  const cflags = `${process.env.CFLAGS ?? ''} -O2`.trim();
  process.stderr.write(
    'ota-build: compiling lzma-native with -O2 (about half a minute; its prebuilt liblzma is unoptimised)\n',
  );
  const run = spawnSync(command, [...first, 'rebuild', ...nodedirArgs()], {
    cwd: dir,
    env: { ...process.env, CFLAGS: cflags },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: BUILD_TIMEOUT_MS,
  });
  writeFileSync(log, `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`);
  if (run.status === 0 && loadsOptimised(dir)) {
    writeFileSync(stampPath, `${JSON.stringify({ version, cflags })}\n`);
    rmSync(logDir, { recursive: true, force: true });
    rmSync(aside, { recursive: true, force: true });
    return;
  }
  // Whatever was left half-built must not shadow the binary that was there before.
  rmSync(build, { recursive: true, force: true });
  if (hadOwn) renameSync(aside, build);
  warn(
    `could not compile lzma-native (log: ${log}); keeping the binary it came with: xz coding about 2x slower, packages the same. ` +
      `Install a C compiler, make and python3, then run \`node ${fileURLToPath(import.meta.url)}\`.`,
  );
}

try {
  main();
} catch (error) {
  // An install never fails for this step: the module as it came works, only slower.
  warn(
    `could not check or compile lzma-native (${error instanceof Error ? error.message : String(error)}); keeping the binary it came with`,
  );
}
