#!/usr/bin/env node
// `npm run bench`: ota-build next to the open differs (bsdiff, xdelta3, zstd --patch-from) and
// full-image xz/zstd, side by side in one run, on realistic image pairs made by
// bench/images/make-pair.sh. Every build and apply runs alone under `/usr/bin/time -v` (wall
// time, peak RSS); every apply output is checked against the new image's sha256.
// Writes bench/RESULTS.md (and bench/work/results.json); tables also go to stdout, progress to
// stderr. See bench/README.md for options and how to run a subset quickly.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
  renameSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import os from 'node:os';
import { renderNetwork, runNetwork } from './network.mjs';
import { cacheArgs, lookupPeerCache, recordDir, storePeerCache } from './peer-cache.mjs';

const MIB = 1048576;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const MAKE_PAIR = join(BENCH, 'images', 'make-pair.sh');
const GENERATOR_FILES = ['make-pair.sh', 'lib-image.sh', 'catalog.tsv'].map((f) => join(BENCH, 'images', f));
// Kind apk (APK-like zip archives, issue 18) has its own generator beside the shared helpers.
const MAKE_APK_PAIR = join(BENCH, 'images', 'make-apk-pair.sh');
// Kind arm64 (Debian arm64 libc6/libssl3 at two security versions, issue 18) likewise.
const MAKE_ARM64_PAIR = join(BENCH, 'images', 'make-arm64-pair.sh');
const generatorFiles = (kind) =>
  kind === 'apk'
    ? [...GENERATOR_FILES, MAKE_APK_PAIR, join(BENCH, 'images', 'zip-tree.py')]
    : kind === 'arm64'
      ? [...GENERATOR_FILES, MAKE_ARM64_PAIR]
      : GENERATOR_FILES;
const pairGenerator = (kind) => (kind === 'apk' ? MAKE_APK_PAIR : kind === 'arm64' ? MAKE_ARM64_PAIR : MAKE_PAIR);
// Kind repeat (issue 17, done-when 6): the patch pair of a quarter the size, each image concatenated
// four times (`--pairs repeat-4096` = patch-1024 x 4), kept in bench/work/repeat/patch-<size>.
const MAKE_REPEAT_PAIR = join(BENCH, 'images', 'make-repeat-pair.sh');
const REPEAT_COUNT = 4;
const repeatBase = (p) => ({
  kind: 'patch',
  sizeMib: p.sizeMib / REPEAT_COUNT,
  id: `patch-${p.sizeMib / REPEAT_COUNT}`,
});
// Expensive peer results that do not depend on ota-build (see peer-cache.mjs and --no-peer-cache).
const PEER_CACHE_DIR = join(BENCH, 'work', 'peer-cache');
const SNAPSHOT = join(ROOT, 'bench', 'work', 'ota-build-snapshot');
// Run as an executable, the way an installed `ota-build` runs (the launcher's sh lines start Node
// with its memory settings); `node` first on its PATH is the Node running the bench (see timed).
let OTA_BIN = join(ROOT, 'bin', 'ota-build.js'); // the snapshot's copy once taken (see snapshotOtaBuild)
const TIME = '/usr/bin/time';

const ALL_SIZES = [64, 256, 1024];
// HDiffPatch (hdiffz / hpatchz beside it), only when HDIFFZ names hdiffz: see bench/README.md.
const HDIFFZ = process.env.HDIFFZ ? resolve(process.env.HDIFFZ) : null;
const HPATCHZ = HDIFFZ ? join(dirname(HDIFFZ), 'hpatchz') : null;
// hdiffz -m needs about new + 5 x old bytes (9 x old from 2 GiB on, its help says).
const hdiffzMemoryBytes = (sizeMib) => (sizeMib + (sizeMib >= 2048 ? 9 : 5) * sizeMib) * MIB;
const ALL_KINDS = ['patch', 'major', 'blob', 'apk', 'arm64'];
const DEFAULT_TARGETS = ['qualcomm', 'mediatek', 'unisoc'];

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench -- [options]

  --sizes 64,256,1024        image sizes in MiB (default: all three)
  --kinds patch,major,blob   pair kinds (default: all five: patch, major, blob, apk, arm64)
  --pairs patch-64,blob-256  explicit list of kind-size pairs (instead of --sizes x --kinds); kind
                             repeat (only when named): repeat-4096 = patch-1024's images each
                             concatenated 4 times (issue 17 done-when 6; bench/work/repeat/patch-4096)
  --quick                    same as --pairs patch-64
  --tools LIST               any of ${'ota-build,ota-build-default,ota-build-inplace,ota-build-full,bsdiff,xdelta3,zstd-patch,hdiffz,full-xz,full-xz9e,full-zstd'}
                             (hdiffz needs env HDIFFZ=path/to/hdiffz, hpatchz beside it; default: all,
                             with hdiffz only when HDIFFZ is set)
                             (default: all; ota-build-default = one build for the CLI's default
                             targets qualcomm,mediatek,unisoc, only up to --default-targets-max-mib)
  --default-targets-max-mib N  run ota-build-default only on pairs up to N MiB (default 64)
  --bsdiff-max-mib N         skip bsdiff above N MiB (default 256; it needs ~9x the image in RAM)
  --full-max-mib N           skip the full-package tools (ota-build-full, full-xz, full-xz9e, full-zstd)
                             above N MiB (default 256: xz -9e of 1 GiB alone takes ~7 minutes)
  --hdiffz-m-max-mib N       hdiffz -m up to N MiB, its bounded -s mode above (default 1024; -s also
                             when -m's new + 5 x old would exceed 3/4 of RAM)
  --no-peer-cache            re-run hdiffz even when bench/work/peer-cache holds its result for the
                             same command line, binary (sha256) and images (sha256); the new result
                             replaces the stored one
  --peer-cache-min-mib N     reuse/store hdiffz results only on pairs above N MiB (default 1024);
                             hpatchz still applies the cached patch and its output is hashed
  --timeout-s N              kill any one build or apply after N seconds (default 900)
  --jobs N                   passed to ota-build build --jobs (default: ota-build's own default)
  --out FILE                 results markdown (default bench/RESULTS.md); the JSON goes to
                             bench/work/results.json, or beside FILE (FILE.json) when --out is given
  --json FILE                where to write the JSON instead
  --keep-outputs             keep patches and applied images in bench/work/runs/
  --no-snapshot              run ota-build from the live dist/ instead of a copy taken at start
  --wait-idle-s N            before each measurement wait up to N s for other processes to
                             leave the CPUs alone (default 60; 0 = do not wait)
  --dry-run                  print the plan and commands; make, run and install nothing
  --render                   rewrite --out from bench/work/results.json (the last run); run nothing
  --network                  also apply patch-64 and patch-256 by URL from nginx through a proxy
                             that disconnects 0, 5 and 20 times (bench/network.mjs; needs nginx-light)
  --network-only             only that network run (no other pairs or tools)
  -h, --help                 this text
`;

function parseArgs(argv) {
  const o = {
    sizes: ALL_SIZES,
    kinds: ALL_KINDS,
    pairs: null,
    tools: [
      'ota-build',
      'ota-build-default',
      'ota-build-inplace',
      'bsdiff',
      'xdelta3',
      'zstd-patch',
      ...(HDIFFZ ? ['hdiffz'] : []),
      'ota-build-full',
      'full-xz',
      'full-xz9e',
      'full-zstd',
    ],
    toolsGiven: false,
    defaultTargetsMaxMib: 64,
    bsdiffMaxMib: 256,
    fullMaxMib: 256,
    hdiffzMMaxMib: 1024,
    peerCache: true,
    peerCacheMinMib: 1024,
    timeoutS: 900,
    jobs: null,
    out: join(BENCH, 'RESULTS.md'),
    keepOutputs: false,
    dryRun: false,
    snapshot: true,
    waitIdleS: 60,
  };
  const list = (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) die(`${name}: expected a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) die(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--sizes':
        o.sizes = list(val()).map((s) => num('--sizes', s));
        break;
      case '--kinds':
        o.kinds = list(val());
        break;
      case '--pairs':
        o.pairs = list(val());
        break;
      case '--quick':
        o.pairs = ['patch-64'];
        break;
      case '--tools':
        o.tools = list(val());
        o.toolsGiven = true;
        break;
      case '--default-targets-max-mib':
        o.defaultTargetsMaxMib = num(flag, val());
        break;
      case '--bsdiff-max-mib':
        o.bsdiffMaxMib = num(flag, val());
        break;
      case '--full-max-mib':
        o.fullMaxMib = num(flag, val());
        break;
      case '--hdiffz-m-max-mib':
        o.hdiffzMMaxMib = num(flag, val());
        break;
      case '--no-peer-cache':
        o.peerCache = false;
        break;
      case '--peer-cache-min-mib': {
        const v = Number(val());
        if (!(v >= 0)) die('--peer-cache-min-mib: expected a number >= 0');
        o.peerCacheMinMib = v;
        break;
      }
      case '--timeout-s':
        o.timeoutS = num(flag, val());
        break;
      case '--jobs':
        o.jobs = num(flag, val());
        break;
      case '--out':
        o.out = resolve(process.cwd(), val());
        break;
      case '--json':
        o.json = resolve(process.cwd(), val());
        break;
      case '--keep-outputs':
        o.keepOutputs = true;
        break;
      case '--no-snapshot':
        o.snapshot = false;
        break;
      case '--wait-idle-s': {
        const v = Number(val());
        if (!(v >= 0)) die('--wait-idle-s: expected a number >= 0');
        o.waitIdleS = v;
        break;
      }
      case '--dry-run':
        o.dryRun = true;
        break;
      case '--render':
        o.render = true;
        break;
      case '--network':
      case '--network-only':
        o.network = a;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        die(`unknown option ${a}\n\n${USAGE}`);
    }
  }
  for (const k of o.kinds)
    if (!ALL_KINDS.includes(k) && k !== 'repeat') die(`--kinds: unknown kind ${k} (${ALL_KINDS.join(', ')}, repeat)`);
  const known = new Set(Object.keys(TOOLS));
  for (const t of o.tools) if (!known.has(t)) die(`--tools: unknown tool ${t} (${[...known].join(', ')})`);
  if (o.tools.includes('hdiffz') && !HDIFFZ) die('--tools hdiffz: set HDIFFZ to the hdiffz binary (hpatchz beside it)');
  let pairs;
  if (o.pairs) {
    pairs = o.pairs.map((p) => {
      const m = /^(patch|major|blob|apk|arm64|repeat)-([1-9][0-9]*)$/.exec(p);
      if (!m) die(`--pairs: expected kind-sizeMiB like patch-64, got ${p}`);
      return { kind: m[1], sizeMib: Number(m[2]) };
    });
  } else {
    pairs = [];
    for (const s of o.sizes) for (const k of o.kinds) pairs.push({ kind: k, sizeMib: s });
  }
  for (const p of pairs) {
    if (!Number.isInteger(p.sizeMib)) die(`sizes must be whole MiB, got ${p.sizeMib}`);
    if (p.kind === 'repeat' && p.sizeMib % REPEAT_COUNT)
      die(`repeat-${p.sizeMib}: the size must be ${REPEAT_COUNT} x a whole number of MiB (the patch pair it repeats)`);
    p.id = `${p.kind}-${p.sizeMib}`;
  }
  o.pairList = o.network === '--network-only' ? [] : pairs;
  o.json ??=
    o.out === join(BENCH, 'RESULTS.md') ? join(BENCH, 'work', 'results.json') : `${o.out.replace(/\.md$/, '')}.json`;
  return o;
}

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
const log = (msg) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Tools under test. build()/apply() return { cmd, args, stdoutFile? } given paths; artifacts are
// the files whose size is "the package".

const TOOLS = {
  'ota-build': {
    role: 'ours',
    label: 'ota-build (generic)',
    build: (p, d, o) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: [
        'build',
        '--old',
        p.old,
        '--new',
        p.new,
        '-o',
        join(d, 'pkg'),
        '--target',
        'generic',
        '--json',
        ...(o.jobs ? ['--jobs', String(o.jobs)] : []),
      ],
    }),
    packages: (d) => [
      { label: 'ota-build (generic)', target: 'generic', file: join(d, 'pkg', 'update-generic.otapkg') },
    ],
    apply: (p, pkg, out) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: ['apply', pkg.file, '--old', p.old, '-o', out, '--device-target', pkg.target, '--json'],
    }),
  },
  'ota-build-default': {
    role: 'ours-default',
    label: 'ota-build (default targets)',
    build: (p, d, o) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: [
        'build',
        '--old',
        p.old,
        '--new',
        p.new,
        '-o',
        join(d, 'pkg'),
        '--json',
        ...(o.jobs ? ['--jobs', String(o.jobs)] : []),
      ],
    }),
    packages: (d) =>
      DEFAULT_TARGETS.map((t) => ({
        label: `ota-build (${t})`,
        target: t,
        file: join(d, 'pkg', `update-${t}.otapkg`),
      })),
    apply: (p, pkg, out) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: ['apply', pkg.file, '--old', p.old, '-o', out, '--device-target', pkg.target, '--json'],
    }),
  },
  // In-place (no B slot): the same build with --update-mode in-place; apply rewrites a copy of the
  // old image where it is (the copy is part of the timed apply). Its build JSON carries the peak
  // stash and the ops turned into REPLACE (packages[].inPlace).
  'ota-build-inplace': {
    role: 'ours-inplace',
    label: 'ota-build in-place (generic)',
    build: (p, d, o) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: [
        'build',
        '--old',
        p.old,
        '--new',
        p.new,
        '-o',
        join(d, 'pkg'),
        '--target',
        'generic',
        '--update-mode',
        'in-place',
        '--json',
        ...(o.jobs ? ['--jobs', String(o.jobs)] : []),
      ],
    }),
    packages: (d) => [
      { label: 'ota-build in-place (generic)', target: 'generic', file: join(d, 'pkg', 'update-generic.otapkg') },
    ],
    apply: (p, pkg, out) => ({
      cmd: 'sh',
      nodeOnPath: true,
      args: [
        '-c',
        'cp "$1" "$2" && exec "$3" apply "$4" --in-place "$2" --stash-dir "$2.stash" --device-target generic --json',
        'sh',
        p.old,
        out,
        OTA_BIN,
        pkg.file,
      ],
    }),
  },
  'ota-build-full': {
    role: 'ours-full',
    label: 'ota-build full (generic, no --old)',
    // A full package of new.img (REPLACE/ZERO ops only), for issue 17's full-package goal
    // against the `full-xz9e` reference.
    build: (p, d, o) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: [
        'build',
        '--new',
        p.new,
        '-o',
        join(d, 'pkg'),
        '--target',
        'generic',
        '--json',
        ...(o.jobs ? ['--jobs', String(o.jobs)] : []),
      ],
    }),
    packages: (d) => [
      { label: 'ota-build full (generic)', target: 'generic', file: join(d, 'pkg', 'update-generic.otapkg') },
    ],
    apply: (p, pkg, out) => ({
      cmd: OTA_BIN,
      nodeOnPath: true,
      args: ['apply', pkg.file, '-o', out, '--device-target', pkg.target, '--json'],
    }),
  },
  bsdiff: {
    role: 'peer',
    label: 'bsdiff',
    build: (p, d) => ({ cmd: 'bsdiff', args: [p.old, p.new, join(d, 'patch.bsdiff')] }),
    packages: (d) => [{ label: 'bsdiff', file: join(d, 'patch.bsdiff') }],
    apply: (p, pkg, out) => ({ cmd: 'bspatch', args: [p.old, out, pkg.file] }),
  },
  xdelta3: {
    role: 'peer',
    label: 'xdelta3 -9 -S djw',
    build: (p, d) => ({ cmd: 'xdelta3', args: ['-e', '-9', '-S', 'djw', '-s', p.old, p.new, join(d, 'patch.vcdiff')] }),
    packages: (d) => [{ label: 'xdelta3 -9 -S djw', file: join(d, 'patch.vcdiff') }],
    apply: (p, pkg, out) => ({ cmd: 'xdelta3', args: ['-d', '-s', p.old, pkg.file, out] }),
  },
  'zstd-patch': {
    role: 'peer',
    label: 'zstd --patch-from -19 --long=31',
    // zstd 1.5.x CLI default: -T1 (one compression worker, plus an I/O thread). With
    // --patch-from the CLI sizes the window to cover the reference itself (1 GiB pair: window
    // 1 GiB, ~3.2 GB RSS at -1) and, when decompressing, raises its memory limit to the reference
    // size on its own (checked with zstd 1.5.4 on a 1 GiB pair), so no --memory=/-M is needed;
    // --long=31 (limit 2 GiB) is passed anyway. Full `zstd -19 --long=31` output of an image
    // over 128 MiB does need --long=31 (or --memory) to decompress: "Window size larger than maximum".
    build: (p, d) => ({
      cmd: 'zstd',
      args: ['-q', '-f', `--patch-from=${p.old}`, '-19', '--long=31', p.new, '-o', join(d, 'patch.zst')],
    }),
    packages: (d) => [{ label: 'zstd --patch-from -19 --long=31', file: join(d, 'patch.zst') }],
    apply: (p, pkg, out) => ({
      cmd: 'zstd',
      args: ['-q', '-f', '-d', `--patch-from=${p.old}`, '--long=31', pkg.file, '-o', out],
    }),
  },
  hdiffz: {
    role: 'peer',
    // HDiffPatch: -m (whole-image suffix array, best patch) up to --hdiffz-m-max-mib and while its
    // memory estimate fits; the bounded -s (streaming, 64-byte blocks) above. -d skips hdiffz's
    // own re-patch check (hpatchz is timed and its output hashed like every apply).
    label: 'hdiffz -m -c-lzma',
    labelFor: (p, o) => `hdiffz ${hdiffzMode(p, o)} -c-lzma`,
    build: (p, d, o) => ({
      cmd: HDIFFZ,
      args: [hdiffzMode(p, o), '-c-lzma', '-f', '-d', p.old, p.new, join(d, 'patch.hdiff')],
    }),
    packages: (d) => [{ file: join(d, 'patch.hdiff') }],
    apply: (p, pkg, out) => ({ cmd: HPATCHZ, args: ['-f', p.old, pkg.file, out] }),
  },
  'full-xz': {
    role: 'reference',
    label: 'full xz -9 -T1',
    // Same as `xz -9 -T1 -k new.img`, written to our output folder instead of beside the image.
    build: (p, d) => ({ cmd: 'xz', args: ['-9', '-T1', '-c', p.new], stdoutFile: join(d, 'new.img.xz') }),
    packages: (d) => [{ label: 'full xz -9 -T1', file: join(d, 'new.img.xz') }],
    apply: (p, pkg, out) => ({ cmd: 'xz', args: ['-dc', pkg.file], stdoutFile: out }),
  },
  'full-xz9e': {
    role: 'reference',
    label: 'full xz -9e -T1',
    // Issue 17's full-package reference: xz's strongest preset, one thread.
    build: (p, d) => ({ cmd: 'xz', args: ['-9e', '-T1', '-c', p.new], stdoutFile: join(d, 'new.img.xz') }),
    packages: (d) => [{ label: 'full xz -9e -T1', file: join(d, 'new.img.xz') }],
    apply: (p, pkg, out) => ({ cmd: 'xz', args: ['-dc', pkg.file], stdoutFile: out }),
  },
  'full-zstd': {
    role: 'reference',
    label: 'full zstd -19 --long=31',
    build: (p, d) => ({ cmd: 'zstd', args: ['-q', '-f', '-19', '--long=31', p.new, '-o', join(d, 'new.img.zst')] }),
    packages: (d) => [{ label: 'full zstd -19 --long=31', file: join(d, 'new.img.zst') }],
    apply: (p, pkg, out) => ({ cmd: 'zstd', args: ['-dc', '--long=31', pkg.file], stdoutFile: out }),
  },
};
const TOOL_ORDER = Object.keys(TOOLS);

/** `-m` or `-s` for hdiffz on pair `p` (see --hdiffz-m-max-mib). */
function hdiffzMode(p, o) {
  const ramBytes = os.totalmem();
  return p.sizeMib <= o.hdiffzMMaxMib && hdiffzMemoryBytes(p.sizeMib) <= 0.75 * ramBytes ? '-m' : '-s';
}
/** A tool's label on pair `p` (hdiffz names the mode it ran in). */
const labelOf = (def, p, o) => (def.labelFor ? def.labelFor(p, o) : def.label);

// ---------------------------------------------------------------------------------------------
// Helpers

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0, status: r.status, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}
const hasCmd = (c) => sh('sh', ['-c', `command -v ${c}`]).ok;

function sha256File(path) {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 4 * MIB })
      .on('data', (b) => h.update(b))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

function sha256Files(paths) {
  const h = createHash('sha256');
  for (const p of paths) h.update(readFileSync(p));
  return h.digest('hex');
}

// Which compiled ota-build ran: sha256 over dist/**/*.js (paths and contents). Another checkout
// step (or a teammate's `npm run build`) can rewrite dist/ mid-run; each ota-build row records
// the fingerprint before and after it ran, and RESULTS.md flags any change.
function distFingerprint(distDir = join(dirname(dirname(OTA_BIN)), 'dist')) {
  const files = [];
  const walk = (dir) => {
    let ents;
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  };
  walk(distDir);
  files.sort();
  const h = createHash('sha256');
  for (const p of files) {
    h.update(relative(distDir, p));
    h.update('\0');
    h.update(readFileSync(p));
  }
  return `${h.digest('hex').slice(0, 16)} (${files.length} files)`;
}

// "h:mm:ss" or "m:ss.ss" -> seconds
function parseClock(s) {
  const parts = s.trim().split(':').map(Number);
  if (parts.some((n) => !Number.isFinite(n))) return null;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

function parseTimeV(text) {
  const get = (re) => {
    const m = re.exec(text);
    return m ? m[1] : null;
  };
  const wall = get(/Elapsed \(wall clock\) time \([^)]*\): *([0-9:.]+)/);
  const rss = get(/Maximum resident set size \(kbytes\): *(\d+)/);
  const user = get(/User time \(seconds\): *([0-9.]+)/);
  const sys = get(/System time \(seconds\): *([0-9.]+)/);
  const exit = get(/Exit status: *(\d+)/);
  const signal = get(/Command terminated by signal (\d+)/);
  return {
    wallS: wall ? parseClock(wall) : null,
    maxRssKiB: rss ? Number(rss) : null,
    userS: user ? Number(user) : null,
    sysS: sys ? Number(sys) : null,
    exitStatus: exit ? Number(exit) : null,
    signal: signal ? Number(signal) : null,
  };
}

// Busy CPU time of the whole machine (all processes), from /proc/stat, in seconds.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
function machineBusyS() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already inside user)
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal || 0)) / CLK_TCK;
  } catch {
    return null;
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait (up to maxS) until the machine's busy CPU over a 1 s window is under 0.15 core: another
// process's load would slow whatever we measure next. Returns the last load seen (cores).
async function waitIdle(maxS) {
  if (!maxS) return null;
  const t0 = performance.now();
  let load = null;
  for (;;) {
    const b0 = machineBusyS();
    await sleep(1000);
    const b1 = machineBusyS();
    if (b0 === null || b1 === null) return null;
    load = b1 - b0;
    if (load < 0.15 || (performance.now() - t0) / 1000 >= maxS) return load;
  }
}

// `npm run bench -- --dry-run | head` closes our stdout early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

let current = null; // the running child, killed on SIGINT/SIGTERM
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    log(`\nbench: interrupted (${sig})`);
    process.exit(130);
  });
}

// Run CMD ARGS under /usr/bin/time -v in its own process group; kill the group on timeout.
// Never throws: the result says ok / failed / timeout.
function timed({ cmd, args, stdoutFile, nodeOnPath }, { timeoutS, cwd = ROOT, env = process.env, timeFile }) {
  if (nodeOnPath) env = { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` };
  return new Promise((res) => {
    rmSync(timeFile, { force: true });
    let outFd = null;
    if (stdoutFile) outFd = openSync(stdoutFile, 'w');
    const busy0 = machineBusyS();
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME, ['-v', '-o', timeFile, cmd, ...args], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', outFd ?? 'pipe', 'pipe'],
    });
    current = child;
    const cap = 4 * MIB;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b) => {
      if (stdout.length < cap) stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b) => {
      stderr = (stderr + b.toString('utf8')).slice(-64 * 1024);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutS * 1000);
    const finish = (code, signal, spawnError) => {
      clearTimeout(timer);
      current = null;
      if (outFd !== null) closeSync(outFd);
      const hrWallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const busy1 = machineBusyS();
      const tv = existsSync(timeFile) ? parseTimeV(readFileSync(timeFile, 'utf8')) : {};
      // CPU the rest of the machine used meanwhile, averaged over the wall time (in cores).
      const ownCpu = (tv.userS ?? 0) + (tv.sysS ?? 0);
      const otherCores =
        busy0 !== null && busy1 !== null && hrWallS > 0 ? Math.max(0, (busy1 - busy0 - ownCpu) / hrWallS) : null;
      let status = 'ok';
      if (timedOut) status = 'timeout';
      else if (spawnError || code !== 0 || signal || tv.signal) status = 'failed';
      res({
        status,
        exitCode: code,
        signal: signal ?? (tv.signal ? `signal ${tv.signal}` : null),
        wallS: status === 'timeout' ? null : (tv.wallS ?? null),
        hrWallS,
        maxRssKiB: tv.maxRssKiB ?? null,
        userS: tv.userS ?? null,
        sysS: tv.sysS ?? null,
        otherCores,
        stdout,
        stderrTail: spawnError ? String(spawnError) : stderr.trim().split('\n').slice(-6).join('\n'),
      });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal, null));
  });
}

function cmdline({ cmd, args, stdoutFile }) {
  const q = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const short = (s) => (s === process.execPath ? 'node' : s.replaceAll(ROOT + '/', ''));
  return [cmd, ...args].map((s) => q(short(s))).join(' ') + (stdoutFile ? ` > ${q(short(stdoutFile))}` : '');
}

// ---------------------------------------------------------------------------------------------
// Setup: apt tools and dist/

function ensureTools(o, pairs) {
  const need = new Map([['time', TIME]]);
  const add = (pkg, ...cmds) => {
    for (const c of cmds) need.set(`${pkg}:${c}`, c);
  };
  const tools = new Set(o.tools);
  if (tools.has('bsdiff')) add('bsdiff', 'bsdiff', 'bspatch');
  if (tools.has('xdelta3')) add('xdelta3', 'xdelta3');
  if (tools.has('zstd-patch') || tools.has('full-zstd')) add('zstd', 'zstd');
  if (tools.has('full-xz') || tools.has('full-xz9e')) add('xz-utils', 'xz');
  if (tools.has('hdiffz')) {
    for (const b of [HDIFFZ, HPATCHZ])
      if (!existsSync(b)) die(`HDIFFZ: ${b} is missing (HDIFFZ must name hdiffz, with hpatchz beside it)`);
  }
  if (pairs.some((p) => p.kind !== 'blob')) add('e2fsprogs', 'mke2fs', 'e2fsck', 'debugfs', 'dumpe2fs');
  const missing = new Set();
  for (const [key, c] of need) {
    const pkg = key.includes(':') ? key.split(':')[0] : key;
    if (c.startsWith('/') ? !existsSync(c) : !hasCmd(c)) missing.add(pkg);
  }
  if (!missing.size) return;
  const pkgs = [...missing];
  if (o.dryRun) {
    log(`would install: ${pkgs.join(' ')}`);
    return;
  }
  if (process.getuid?.() !== 0) {
    die(
      `missing tools from Debian packages: ${pkgs.join(' ')}; run as root (the bench installs them) or: sudo apt-get install -y ${pkgs.join(' ')}`,
    );
  }
  log(`installing ${pkgs.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) die(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
  }
}

function ensureDist(o) {
  if (existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) return;
  if (o.dryRun) {
    log('would run: npm run build (dist/ missing)');
    return;
  }
  log('dist/ missing: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 'inherit'] });
  if (r.status !== 0) die(`npm run build failed (exit ${r.status})`);
}

// Copy the runtime files of ota-build (package.json "files": bin, dist, profiles, ...) to
// bench/work/ota-build-snapshot and run that copy, so a `npm run build` in the working tree during a
// long bench cannot change the tool half-way through (node_modules is linked, not copied).
async function snapshotOtaBuild() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const entries = [...new Set([...(pkg.files ?? ['bin', 'dist']), 'package.json'])];
  for (let attempt = 1; attempt <= 10; attempt++) {
    const before = distFingerprint(join(ROOT, 'dist'));
    rmSync(SNAPSHOT, { recursive: true, force: true });
    mkdirSync(SNAPSHOT, { recursive: true });
    for (const e of entries) {
      if (existsSync(join(ROOT, e))) cpSync(join(ROOT, e), join(SNAPSHOT, e), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(SNAPSHOT, 'node_modules'), 'dir');
    const after = distFingerprint(join(ROOT, 'dist'));
    const copy = distFingerprint(join(SNAPSHOT, 'dist'));
    if (before === after && after === copy) {
      OTA_BIN = join(SNAPSHOT, 'bin', 'ota-build.js');
      return { fingerprint: copy, at: new Date().toISOString() };
    }
    log(`  dist/ changed while it was being copied (a build running?); retrying in 10 s (${attempt}/10)`);
    await sleep(10000);
  }
  die('dist/ keeps changing; could not take a consistent copy of ota-build (try --no-snapshot)');
}

/**
 * lzma-native's version and which binary it loads: the -O2 build of scripts/optimise-lzma-native.mjs
 * (build/Release with its stamp) or another (the prebuilt one, whose liblzma is unoptimised).
 */
function lzmaNativeBuild() {
  const dir = join(ROOT, 'node_modules', 'lzma-native');
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  let loaded = '';
  let stamp;
  try {
    loaded = createRequire(import.meta.url)('node-gyp-build').path(dir);
    stamp = JSON.parse(readFileSync(join(dir, 'build', 'ota-build-optimised.json'), 'utf8'));
  } catch {
    // no stamp (or no loadable binary): reported as not ours below
  }
  return stamp && loaded === join(dir, 'build', 'Release', 'lzma_native.node')
    ? `${version} (liblzma compiled here, CFLAGS ${stamp.cflags})`
    : `${version} (**${relative(dir, loaded) || 'no binary'}: not the -O2 build**, xz coding about 2x slower)`;
}

function machineInfo() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const meminfo = existsSync('/proc/meminfo') ? readFileSync('/proc/meminfo', 'utf8') : '';
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
  const first = (s) => s.split('\n')[0].trim();
  const dpkg = (p) => sh('dpkg-query', ['-W', '-f=${Version}', p]).out || 'unknown';
  const git = (...a) => sh('git', ['-C', ROOT, ...a]);
  const head = git('rev-parse', 'HEAD').out || 'unknown';
  const dirty = git(
    'status',
    '--porcelain',
    '--untracked-files=no',
    '--',
    'src',
    'bin',
    'package.json',
    'profiles',
    'proto',
    'scripts',
    'bench',
    ':(exclude)bench/RESULTS.md', // what a run writes
  ).out;
  const untracked = git('ls-files', '--others', '--exclude-standard', '--', 'src').out;
  // Which build of ota-build actually ran: dist/ (compiled), compared with src/ mtimes.
  const newest = (dir) => {
    const r = sh('sh', ['-c', `find "${dir}" -type f -printf '%T@\\n' 2>/dev/null | sort -n | tail -1`]);
    return r.out ? Number(r.out) : null;
  };
  const distT = newest(join(ROOT, 'dist'));
  const srcT = newest(join(ROOT, 'src'));
  return {
    hostname: os.hostname(),
    nproc: Number(sh('nproc', []).out) || os.availableParallelism?.() || os.cpus().length,
    memTotalGiB: memKiB / MIB,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    versions: {
      node: process.version,
      zstd: (/v\d+\.\d+\.\d+/.exec(sh('zstd', ['--version']).out)?.[0] ?? 'missing') + ` (Debian ${dpkg('zstd')})`,
      xz: first(sh('xz', ['--version']).out || 'missing').replace(/^xz \(XZ Utils\) /, ''),
      bsdiff: `Debian bsdiff ${dpkg('bsdiff')}`,
      xdelta3: first(sh('xdelta3', ['-V']).err || sh('xdelta3', ['-V']).out || 'missing').replace(/, Copyright.*/, ''),
      time: `GNU time ${dpkg('time')}`,
      e2fsprogs: dpkg('e2fsprogs'),
      ...(HDIFFZ ? { hdiffpatch: first(sh(HDIFFZ, ['-v']).out || 'missing').replace(/^HDiffPatch::/, '') } : {}),
      'lzma-native': lzmaNativeBuild(),
    },
    otaBuild: {
      version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      commit: head,
      uncommitted: [dirty, untracked].filter(Boolean).join('\n') || null,
      distNewerThanSrc: distT !== null && srcT !== null ? distT >= srcT : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pairs

function pairDir(p) {
  return p.kind === 'repeat' ? join(BENCH, 'work', 'repeat', `patch-${p.sizeMib}`) : join(BENCH, 'work', 'pairs', p.id);
}

// Reuse a pair when bench-pair.json says it came from the same generator files and the images
// still hash to what was recorded (and to what make-pair.sh printed in pair.txt).
async function ensurePair(p) {
  if (p.kind === 'repeat') return ensureRepeatPair(p);
  const dir = pairDir(p);
  const old = join(dir, 'old.img');
  const nu = join(dir, 'new.img');
  const recFile = join(dir, 'bench-pair.json');
  const generator = sha256Files(generatorFiles(p.kind));
  const done = (rec, reused) => ({ dir, paths: { old, new: nu }, rec, reused });
  if (existsSync(recFile) && existsSync(old) && existsSync(nu)) {
    try {
      const rec = JSON.parse(readFileSync(recFile, 'utf8'));
      if (rec.generator === generator && rec.kind === p.kind && rec.sizeMib === p.sizeMib) {
        log(`  checking cached pair ${relative(ROOT, dir)} (sha256)`);
        const [ho, hn] = await Promise.all([sha256File(old), sha256File(nu)]);
        if (ho === rec.old.sha256 && hn === rec.new.sha256) {
          return done(rec, true);
        }
        log('  cached images do not match their sha256 record: remaking');
      } else {
        log('  pair generator (make-pair.sh, lib-image.sh, catalog.tsv) changed: remaking');
      }
    } catch (e) {
      log(`  unreadable pair record (${e.message}): remaking`);
    }
  }
  checkSpace(dir, p.sizeMib);
  rmSync(recFile, { force: true });
  log(`  making pair: bench/images/make-pair.sh ${p.kind} ${p.sizeMib} ${relative(ROOT, dir)}`);
  const t0 = performance.now();
  const r = spawnSync('bash', [pairGenerator(p.kind), p.kind, String(p.sizeMib), dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * MIB,
  });
  if (r.status !== 0) throw new Error(`make-pair.sh ${p.kind} ${p.sizeMib} failed (exit ${r.status})`);
  const summary = readFileSync(join(dir, 'pair.txt'), 'utf8');
  const [ho, hn] = await Promise.all([sha256File(old), sha256File(nu)]);
  const printed = (name) => new RegExp(`^([0-9a-f]{64})\\s+\\S*/${name}\\b`, 'm').exec(summary)?.[1];
  if (printed('old.img') !== ho || printed('new.img') !== hn) {
    throw new Error(`pair ${p.id}: images do not hash to what make-pair.sh printed`);
  }
  const rec = {
    kind: p.kind,
    sizeMib: p.sizeMib,
    generator,
    madeSeconds: (performance.now() - t0) / 1000,
    old: { sha256: ho, bytes: statSync(old).size },
    new: { sha256: hn, bytes: statSync(nu).size },
    summary,
  };
  writeFileSync(recFile, JSON.stringify(rec, null, 2) + '\n');
  return done(rec, false);
}

// sha256 of what `cat path path ...` (count times) writes, reading path count times.
async function sha256Repeated(path, count) {
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) {
    await new Promise((res, rej) =>
      createReadStream(path, { highWaterMark: 4 * MIB })
        .on('data', (b) => h.update(b))
        .on('error', rej)
        .on('end', res),
    );
  }
  return h.digest('hex');
}

// Kind repeat: the base patch pair (made or reused like any pair) with each image concatenated
// REPEAT_COUNT times by make-repeat-pair.sh. Reused when bench-pair.json names the same generator
// (that script, the count, the base pair's generator and image sha256s) and the images still hash
// to the record. Images already in the folder without a record (e.g. made by hand with `cat`) are
// adopted when they hash to the base images repeated, so the 2 x sizeMib are not written again.
async function ensureRepeatPair(p) {
  const base = repeatBase(p);
  log(`  base pair ${base.id} (repeat-${p.sizeMib} = ${base.id} x ${REPEAT_COUNT})`);
  const b = await ensurePair(base);
  const dir = pairDir(p);
  const old = join(dir, 'old.img');
  const nu = join(dir, 'new.img');
  const recFile = join(dir, 'bench-pair.json');
  const generator = createHash('sha256')
    .update(
      JSON.stringify({
        script: readFileSync(MAKE_REPEAT_PAIR, 'utf8'),
        count: REPEAT_COUNT,
        base: base.id,
        baseGenerator: b.rec.generator,
        baseOld: b.rec.old.sha256,
        baseNew: b.rec.new.sha256,
      }),
    )
    .digest('hex');
  const done = (rec, reused) => ({ dir, paths: { old, new: nu }, rec, reused });
  if (existsSync(recFile) && existsSync(old) && existsSync(nu)) {
    try {
      const rec = JSON.parse(readFileSync(recFile, 'utf8'));
      if (rec.generator === generator && rec.kind === p.kind && rec.sizeMib === p.sizeMib) {
        log(`  checking cached pair ${relative(ROOT, dir)} (sha256)`);
        const [ho, hn] = await Promise.all([sha256File(old), sha256File(nu)]);
        if (ho === rec.old.sha256 && hn === rec.new.sha256) return done(rec, true);
        log('  cached images do not match their sha256 record: remaking');
      } else {
        log(`  repeat generator (make-repeat-pair.sh or ${base.id}) changed: remaking`);
      }
    } catch (e) {
      log(`  unreadable pair record (${e.message}): remaking`);
    }
  }
  rmSync(recFile, { force: true });
  const t0 = performance.now();
  log(`  sha256 of ${base.id}'s images x ${REPEAT_COUNT} (reading each ${REPEAT_COUNT} times)`);
  const [eo, en] = await Promise.all([
    sha256Repeated(b.paths.old, REPEAT_COUNT),
    sha256Repeated(b.paths.new, REPEAT_COUNT),
  ]);
  const bytes = REPEAT_COUNT * b.rec.old.bytes;
  const sized = (f, n) => existsSync(f) && statSync(f).size === n;
  let adopted = false;
  if (sized(old, bytes) && sized(nu, REPEAT_COUNT * b.rec.new.bytes)) {
    log(`  images already in ${relative(ROOT, dir)}: checking they are ${base.id} x ${REPEAT_COUNT} (sha256)`);
    const [ho, hn] = await Promise.all([sha256File(old), sha256File(nu)]);
    adopted = ho === eo && hn === en;
    if (!adopted) log('  they are not: remaking');
  }
  if (!adopted) {
    checkSpace(dir, p.sizeMib);
    const args = [MAKE_REPEAT_PAIR, b.dir, String(REPEAT_COUNT), dir];
    log(`  making pair: bash ${args.map((a) => relative(ROOT, a) || a).join(' ')}`);
    const r = spawnSync('bash', args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`make-repeat-pair.sh failed (exit ${r.status})`);
    const [ho, hn] = await Promise.all([sha256File(old), sha256File(nu)]);
    if (ho !== eo || hn !== en) throw new Error(`pair ${p.id}: images do not hash to ${base.id}'s repeated`);
  }
  const baseLines = b.rec.summary.split('\n').filter((l) => l && !/^[0-9a-f]{64}\s/.test(l));
  const summary = [
    `kind: repeat (${base.id}'s old.img and new.img each concatenated ${REPEAT_COUNT} times by make-repeat-pair.sh: ${p.sizeMib} MiB)`,
    ...baseLines.map((l) => (/^\s/.test(l) || /:$/.test(l) ? l : `${base.id} ${l}`)),
    `${eo}  ${old} (${bytes} bytes)`,
    `${en}  ${nu} (${REPEAT_COUNT * b.rec.new.bytes} bytes)`,
    '',
  ].join('\n');
  const rec = {
    kind: p.kind,
    sizeMib: p.sizeMib,
    generator,
    base: { id: base.id, old: b.rec.old, new: b.rec.new },
    madeSeconds: (performance.now() - t0) / 1000,
    adopted,
    old: { sha256: eo, bytes: statSync(old).size },
    new: { sha256: en, bytes: statSync(nu).size },
    summary,
  };
  writeFileSync(recFile, JSON.stringify(rec, null, 2) + '\n');
  return done(rec, false);
}

function checkSpace(dir, sizeMib) {
  try {
    mkdirSync(dir, { recursive: true });
    const s = statfsSync(dir);
    const free = s.bavail * s.bsize;
    // the pair (2x), staging (~1x), one patch + one applied image (~1x), plus slack
    const want = (4 * sizeMib + 512) * MIB;
    if (free < want)
      log(
        `  WARNING: ${(free / MIB).toFixed(0)} MiB free in ${dir}; this pair wants about ${(want / MIB).toFixed(0)} MiB`,
      );
  } catch {
    /* statfs unsupported: carry on */
  }
}

// ---------------------------------------------------------------------------------------------
// One pair: every tool, build then apply, one at a time

/** Tools that compress the whole new image (no old image): slow on large images. */
const FULL_TOOLS = ['ota-build-full', 'full-xz', 'full-xz9e', 'full-zstd'];

function toolsFor(p, o) {
  return TOOL_ORDER.filter((t) => o.tools.includes(t))
    .map((t) => {
      if (t === 'bsdiff' && p.sizeMib > o.bsdiffMaxMib) {
        return { tool: t, skip: `skipped: too slow/too much memory (> --bsdiff-max-mib ${o.bsdiffMaxMib})` };
      }
      if (FULL_TOOLS.includes(t) && p.sizeMib > o.fullMaxMib) {
        return { tool: t, skip: `skipped: full package of a large image (> --full-max-mib ${o.fullMaxMib})` };
      }
      if (t === 'ota-build-default' && p.sizeMib > o.defaultTargetsMaxMib) {
        if (o.toolsGiven) {
          /* explicitly asked for: run it anyway */
        } else return null;
      }
      return { tool: t };
    })
    .filter(Boolean);
}

async function runPair(p, pair, o, progress) {
  const runDir = join(BENCH, 'work', 'runs', p.id);
  rmSync(runDir, { recursive: true, force: true });
  const results = [];
  const env = { ...process.env, SOURCE_DATE_EPOCH: '1704067200' };
  for (const { tool, skip } of toolsFor(p, o)) {
    const def = TOOLS[tool];
    const r = { tool, role: def.role, label: labelOf(def, p, o) };
    results.push(r);
    if (skip) {
      r.status = 'skipped';
      r.note = skip;
      log(`${progress} ${tool}: ${skip}`);
      continue;
    }
    const d = join(runDir, tool);
    mkdirSync(d, { recursive: true });
    const spec = def.build(pair, d, o);
    r.buildCmd = cmdline(spec);
    log(`${progress} ${tool}: build  $ ${r.buildCmd}`);
    const ours = def.role.startsWith('ours');
    if (ours) r.distBefore = distFingerprint();
    // hdiffz on large pairs: reuse a stored result for the same command line, binary and images
    // (peer-cache.mjs); its patch is still applied and hashed below. --no-peer-cache re-runs the
    // build and stores its result in place of the old one.
    const cacheFields = tool === 'hdiffz' && p.sizeMib > o.peerCacheMinMib ? {} : null;
    let cached = null;
    if (cacheFields) {
      Object.assign(cacheFields, {
        tool,
        args: cacheArgs(spec.args, { old: pair.old, nu: pair.new, patch: def.packages(d)[0].file }),
        binarySha256: await sha256File(spec.cmd),
        oldSha256: pair.oldSha256,
        newSha256: pair.newSha256,
      });
      const hit = o.peerCache
        ? await lookupPeerCache(PEER_CACHE_DIR, cacheFields, sha256File)
        : { why: '--no-peer-cache' };
      if (hit.record) cached = hit;
      else log(`${progress} ${tool}: peer cache: ${hit.why}; running it (the result will be stored)`);
    }
    let idleB = null;
    let b;
    const buildStartedAt = new Date().toISOString();
    if (cached) {
      const rec = cached.record;
      b = { status: 'ok', exitCode: 0, signal: null, stdout: '', ...rec.build };
      idleB = rec.build.loadBeforeCores ?? null;
      r.reused = {
        measuredAt: rec.measuredAt,
        machine: rec.machine ?? null,
        measuredCmd: rec.measuredCmd ?? null,
        note: rec.note ?? null,
        key: rec.key,
        dir: relative(ROOT, cached.dir),
      };
      log(
        `${progress} ${tool}: build result REUSED from ${r.reused.dir} (measured ${rec.measuredAt}): ${rec.patchBytes} bytes, ${fmtS(b.wallS)} s, peak RSS ${fmtMiB(b.maxRssKiB)} MiB (--no-peer-cache re-runs it)`,
      );
    } else {
      idleB = await waitIdle(o.waitIdleS);
      b = await timed(spec, { timeoutS: o.timeoutS, env, timeFile: join(d, 'time-build.txt') });
    }
    r.build = {
      status: b.status,
      exitCode: b.exitCode,
      signal: b.signal,
      wallS: b.wallS,
      hrWallS: b.hrWallS,
      maxRssKiB: b.maxRssKiB,
      userS: b.userS,
      sysS: b.sysS,
      otherCores: b.otherCores,
      loadBeforeCores: idleB,
    };
    if (b.status !== 'ok') r.build.stderrTail = b.stderrTail;
    if (tool.startsWith('ota-build') && b.status === 'ok') {
      try {
        const j = JSON.parse(b.stdout);
        r.otaJson = { timingsMs: j.timingsMs, packages: j.packages?.map(({ path, ...rest }) => rest) };
      } catch {
        r.otaJson = { unparsable: b.stdout.slice(0, 500) };
      }
    }
    r.status = b.status;
    if (b.status === 'timeout') {
      log(`${progress} ${tool}: build did not finish within ${o.timeoutS} s (killed)`);
    } else if (b.status === 'failed') {
      log(`${progress} ${tool}: build FAILED (exit ${b.exitCode ?? b.signal}): ${b.stderrTail.split('\n').pop()}`);
    } else if (!cached) {
      log(`${progress} ${tool}: build ok in ${fmtS(b.wallS)} s, peak RSS ${fmtMiB(b.maxRssKiB)} MiB${busyNote(b)}`);
    }
    r.packages = [];
    if (b.status === 'ok') {
      for (const pkg of def.packages(d)) {
        pkg.label ??= r.label;
        if (cached) pkg.file = cached.patchFile;
        const e = { label: pkg.label, target: pkg.target ?? null };
        r.packages.push(e);
        if (!existsSync(pkg.file)) {
          e.missing = true;
          e.correct = false;
          log(`${progress} ${tool}: ${pkg.label}: no output file!`);
          continue;
        }
        e.bytes = statSync(pkg.file).size;
        const out = join(d, 'applied.img');
        rmSync(out, { force: true });
        const aspec = def.apply(pair, pkg, out);
        e.applyCmd = cmdline(aspec);
        log(`${progress} ${tool}: ${pkg.label}: ${e.bytes} bytes; apply  $ ${e.applyCmd}`);
        const idleA = await waitIdle(o.waitIdleS);
        const a = await timed(aspec, { timeoutS: o.timeoutS, env, timeFile: join(d, 'time-apply.txt') });
        e.apply = {
          status: a.status,
          exitCode: a.exitCode,
          signal: a.signal,
          wallS: a.wallS,
          hrWallS: a.hrWallS,
          maxRssKiB: a.maxRssKiB,
          userS: a.userS,
          sysS: a.sysS,
          otherCores: a.otherCores,
          loadBeforeCores: idleA,
        };
        if (a.status !== 'ok') e.apply.stderrTail = a.stderrTail;
        if (r.role === 'ours-inplace' && a.status === 'ok') e.inPlaceApply = inPlaceApplyOf(a.stdout);
        if (a.status === 'ok' && existsSync(out)) {
          e.outSha256 = await sha256File(out);
          e.correct = e.outSha256 === pair.newSha256;
        } else {
          e.correct = false;
        }
        if (cacheFields && !cached && e.correct) {
          const stored = storePeerCache(PEER_CACHE_DIR, cacheFields, {
            patchFile: pkg.file,
            patchSha256: await sha256File(pkg.file),
            move: !o.keepOutputs,
            measuredAt: buildStartedAt,
            measuredCmd: r.buildCmd,
            machine: o.machineSummary ?? null,
            build: r.build,
          });
          r.cacheStored = relative(ROOT, stored);
          log(`${progress} ${tool}: result stored in the peer cache: ${r.cacheStored}`);
        }
        log(
          `${progress} ${tool}: ${pkg.label}: apply ${a.status === 'ok' ? `ok in ${fmtS(a.wallS)} s, peak RSS ${fmtMiB(a.maxRssKiB)} MiB${busyNote(a)}` : a.status === 'timeout' ? 'did not finish' : `FAILED (exit ${a.exitCode ?? a.signal}): ${a.stderrTail.split('\n').pop()}`}; output ${e.correct ? 'matches new.img' : 'does NOT match new.img'}`,
        );
        if (!o.keepOutputs) rmSync(out, { force: true });
      }
    }
    if (ours) {
      r.distAfter = distFingerprint();
      if (r.distAfter !== r.distBefore)
        log(`${progress} ${tool}: WARNING: dist/ changed while it ran (${r.distBefore} -> ${r.distAfter})`);
    }
    if (!o.keepOutputs) rmSync(d, { recursive: true, force: true });
  }
  if (!o.keepOutputs) rmSync(runDir, { recursive: true, force: true });
  return results;
}

// ---------------------------------------------------------------------------------------------
// Numbers and tables. Ratios are rounded UP at the 3rd decimal (never in ota-build's favour);
// the goal checks use the unrounded values.

const fmtS = (s) => (s == null ? '?' : s.toFixed(2));
const fmtMiB = (kib) => (kib == null ? '?' : (kib / 1024).toFixed(1));
const ceil3 = (x) => (Math.ceil(x * 1000 - 1e-9) / 1000).toFixed(3);
const pct = (x) => `${(100 * x).toFixed(3)} %`;
// A measurement is "disturbed" when other processes used more than this many cores on average.
const BUSY_CORES = 0.2;
// Under a second, /proc/stat's 10 ms ticks and our own spawning make the figure meaningless.
const disturbed = (m) => m?.otherCores != null && m.otherCores > BUSY_CORES && (m.hrWallS ?? 0) >= 1;
const busyNote = (m) =>
  disturbed(m) ? ` (WARNING: other processes used ${m.otherCores.toFixed(2)} cores meanwhile)` : '';
const dag = (m) => (disturbed(m) ? ' †' : '');

// Rows: one per package (ota-build-default gives three from one build).
function rowsOf(pairRes) {
  const rows = [];
  for (const r of pairRes.results) {
    if (r.status === 'skipped' || r.status !== 'ok') {
      rows.push({ r, e: null });
      continue;
    }
    for (const e of r.packages) rows.push({ r, e });
  }
  return rows;
}

function bestPeer(pairRes) {
  let best = null;
  for (const r of pairRes.results) {
    if (r.role !== 'peer' || r.status !== 'ok') continue;
    const e = r.packages[0];
    if (!e || !e.correct) continue;
    if (!best || e.bytes < best.bytes)
      best = { tool: r.tool, label: r.label, bytes: e.bytes, build: r.build, apply: e.apply, reused: !!r.reused };
  }
  return best;
}

function zstdPatchTime(pairRes) {
  const z = pairRes.results.find((r) => r.tool === 'zstd-patch' && r.status === 'ok');
  return z ? z.build.wallS : null;
}

function pairTable(pairRes, opts) {
  const newBytes = pairRes.pair.new.bytes;
  const best = bestPeer(pairRes);
  const zt = zstdPatchTime(pairRes);
  const head = [
    'tool',
    'size bytes',
    '% of new',
    'size ÷ best peer patch',
    'build s',
    'build ÷ zstd-patch',
    'build ÷ best peer',
    'build peak RSS MiB',
    'apply s',
    'apply ÷ best peer',
    'apply peak RSS MiB',
    'apply RSS ÷ best peer',
    'correct',
  ];
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`,
  ];
  for (const { r, e } of rowsOf(pairRes)) {
    const b = r.build;
    const shared = r.tool === 'ota-build-default' ? ' ¹' : '';
    if (!e) {
      let what;
      if (r.status === 'skipped') what = r.note;
      else if (r.status === 'timeout') what = `**did not finish** (killed after ${opts.timeoutS} s)`;
      else what = `**build failed** (exit ${b.exitCode ?? b.signal})`;
      const bs =
        (r.status === 'failed' && b.wallS != null
          ? fmtS(b.wallS)
          : r.status === 'timeout'
            ? `> ${opts.timeoutS}`
            : '—') + dag(b);
      const rss = r.status === 'failed' && b.maxRssKiB != null ? fmtMiB(b.maxRssKiB) : '—';
      lines.push(`| ${r.label} | ${what} | — | — | ${bs} | — | — | ${rss} | — | — | — | — | — |`);
      continue;
    }
    const a = e.apply;
    const size = e.missing ? '**no output**' : String(e.bytes);
    const ofNew = e.missing ? '—' : pct(e.bytes / newBytes);
    const vsBest = e.missing || !best ? '—' : ceil3(e.bytes / best.bytes);
    const vsZstd = zt ? ceil3(b.wallS / zt) : '—';
    const vsPeer = (x, y) => (x != null && y ? ceil3(x / y) : '—');
    const buildVsBest = vsPeer(b.wallS, best?.build?.wallS);
    const okApply = !e.missing && a?.status === 'ok';
    const applyVsBest = okApply ? vsPeer(a.wallS, best?.apply?.wallS) : '—';
    const applyRssVsBest = okApply ? vsPeer(a.maxRssKiB, best?.apply?.maxRssKiB) : '—';
    let applyS = '—';
    let applyRss = '—';
    let correct;
    if (e.missing) correct = '**NO** (no output)';
    else if (a.status === 'timeout') {
      applyS = `> ${opts.timeoutS}`;
      correct = '**NO** (apply did not finish)';
    } else if (a.status === 'failed') {
      applyS = a.wallS != null ? fmtS(a.wallS) : '?';
      applyRss = fmtMiB(a.maxRssKiB);
      correct = `**NO** (apply failed, exit ${a.exitCode ?? a.signal})`;
    } else {
      applyS = fmtS(a.wallS) + dag(a);
      applyRss = fmtMiB(a.maxRssKiB);
      correct = e.correct ? 'yes' : `**NO** (sha256 ${e.outSha256.slice(0, 12)}…)`;
    }
    const warn = r.distBefore && r.distAfter !== r.distBefore ? ' ⚠ dist/ changed while it ran' : '';
    const label = r.role.startsWith('ours')
      ? `**${e.label}**${warn}`
      : r.role === 'reference'
        ? `${e.label} (reference)`
        : `${e.label}${r.reused ? ' ‡' : ''}`;
    lines.push(
      `| ${label} | ${size} | ${ofNew} | ${vsBest} | ${fmtS(b.wallS)}${shared}${dag(b)} | ${vsZstd}${shared} | ${buildVsBest}${shared} | ${fmtMiB(b.maxRssKiB)}${shared} | ${applyS} | ${applyVsBest} | ${applyRss} | ${applyRssVsBest} | ${correct} |`,
    );
  }
  if (best)
    lines.push(
      '',
      `Best peer (smallest correct patch, the one every *÷ best peer* column divides by): ${best.label}${best.reused ? ' ‡' : ''}, ${best.bytes} bytes, build ${fmtS(best.build?.wallS)} s, apply ${fmtS(best.apply?.wallS)} s at ${fmtMiB(best.apply?.maxRssKiB)} MiB peak RSS.`,
    );
  return lines.join('\n');
}

/** The figures of `apply --in-place --json` the in-place table shows. */
function inPlaceApplyOf(stdout) {
  try {
    const { stashFilesWritten, stashBytesWritten, opsRun, opsSkipped } = JSON.parse(stdout);
    return { stashFilesWritten, stashBytesWritten, opsRun, opsSkipped };
  } catch {
    return null;
  }
}

// In-place packages (issue 16): size ÷ the A/B ota-build package of the same pair, the peak stash
// and the ops turned into REPLACE (build --json packages[].inPlace), the apply and its stash writes.
function inPlaceTable(pairRes) {
  const ip = pairRes.results.find((r) => r.role === 'ours-inplace' && r.status === 'ok');
  if (!ip) return null;
  const ab = pairRes.results.find((r) => r.tool === 'ota-build' && r.status === 'ok')?.packages[0];
  const e = ip.packages[0];
  const info = ip.otaJson?.packages?.[0]?.inPlace ?? {};
  const a = e?.apply?.status === 'ok' ? e.apply : null;
  const w = e?.inPlaceApply;
  const mib = (b) => (b == null ? '?' : (b / MIB).toFixed(2));
  const head = [
    'in-place package',
    'size bytes',
    'size ÷ A/B ota-build',
    'peak stash MiB',
    'stash ops',
    'ops → REPLACE',
    'apply s',
    'apply peak RSS MiB',
    'stash written MiB (files)',
    'correct',
  ];
  const row = [
    `**${ip.label}**`,
    e?.bytes ?? '—',
    e?.bytes && ab?.bytes && !ab.missing ? ceil3(e.bytes / ab.bytes) : '— (ota-build not run)',
    mib(info.peakStashBytes),
    info.stashOps ?? '?',
    info.convertedReplaceOps ?? '?',
    a ? fmtS(a.wallS) + dag(a) : '—',
    a ? fmtMiB(a.maxRssKiB) : '—',
    w ? `${mib(w.stashBytesWritten)} (${w.stashFilesWritten})` : '—',
    e?.correct ? 'yes' : '**NO**',
  ];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`,
    `| ${row.join(' | ')} |`,
    '',
    'The in-place apply time includes copying old.img to the image it rewrites (`cp`), as a device would not.',
    ...(pairRes.kind === 'patch' && e?.bytes && ab?.bytes
      ? [
          '',
          `${e.bytes <= 1.05 * ab.bytes ? 'pass' : '**FAIL**'} issue 16: in-place ≤ 1.05 × A/B on a patch pair (${(e.bytes / ab.bytes).toFixed(4)}×)`,
        ]
      : []),
  ].join('\n');
}

// Issue 17's "done when" items against HDiffPatch (when it ran on the pair), on unrounded numbers.
function hdiffGoalChecks(pairRes) {
  const ours = pairRes.results.find((r) => r.tool === 'ota-build' && r.status === 'ok');
  const h = pairRes.results.find((r) => r.tool === 'hdiffz');
  if (!ours || !h) return null;
  const e = ours.packages[0];
  const he = h.status === 'ok' ? h.packages[0] : null;
  if (!e || e.missing || !he?.correct)
    return [`hdiffz ${h.status === 'ok' ? 'output not correct' : h.status}: nothing to compare`];
  const ok = (b) => (b ? 'pass' : '**FAIL**');
  const x = (v) => `${v.toFixed(3)}×`;
  const sizeGoal = pairRes.kind === 'major' ? 0.97 : 0.9;
  const buildGoal = pairRes.sizeMib >= 256 ? 1.5 : 2;
  const size = e.bytes / he.bytes;
  const build = ours.build.wallS / h.build.wallS;
  const checks = [
    `${ok(size <= sizeGoal)} size ≤ ${sizeGoal} × ${h.label}: ${x(size)}`,
    `${ok(build <= buildGoal)} build time ≤ ${buildGoal} × hdiffz: ${x(build)}`,
  ];
  if (e.apply?.status === 'ok' && he.apply?.status === 'ok') {
    const apply = e.apply.wallS / he.apply.wallS;
    checks.push(
      `${ok(apply <= 3 && e.apply.maxRssKiB <= 160 * 1024)} apply time ≤ 3 × hpatchz (${x(apply)}) and apply peak RSS ≤ 160 MiB (${fmtMiB(e.apply.maxRssKiB)} MiB; hpatchz ${fmtMiB(he.apply.maxRssKiB)} MiB)`,
    );
  }
  return checks;
}

// What a real run would do with the peer cache for hdiffz on pair `p` (dry run: the pair's recorded
// sha256s, the record's presence; the patch itself is hashed only in a real run).
async function dryRunCacheNote(p, spec, patch, o) {
  if (!o.peerCache) return '--no-peer-cache: runs, then replaces any stored result';
  const recFile = join(pairDir(p), 'bench-pair.json');
  if (!existsSync(recFile)) return 'peer cache looked up once the pair is made (no bench-pair.json yet)';
  const rec = JSON.parse(readFileSync(recFile, 'utf8'));
  const dir = recordDir(PEER_CACHE_DIR, {
    tool: 'hdiffz',
    args: cacheArgs(spec.args, { old: spec.args.at(-3), nu: spec.args.at(-2), patch }),
    binarySha256: await sha256File(spec.cmd),
    oldSha256: rec.old.sha256,
    newSha256: rec.new.sha256,
  });
  if (!existsSync(join(dir, 'record.json'))) return 'not in the peer cache: runs, then stores its result';
  const measuredAt = JSON.parse(readFileSync(join(dir, 'record.json'), 'utf8')).measuredAt;
  return `build result cached in ${relative(ROOT, dir)} (measured ${measuredAt}): reused if its patch still hashes to the record; hpatchz applies it`;
}

// The ‡ footnote of a peer row whose build result came from the peer cache, and a line for a result
// this run stored there.
function peerCacheLines(pairRes) {
  const out = [];
  const short = (h) => `${h.slice(0, 16)}…`;
  for (const r of pairRes.results) {
    const u = r.reused;
    if (u) {
      const m = u.machine;
      const where = m ? ` on ${m.hostname} (${m.nproc} CPUs, ${m.memTotalGiB.toFixed(1)} GiB RAM)` : '';
      out.push(
        `‡ ${r.label}: result **reused** from a run on ${u.measuredAt}${where}, same binary (sha256 \`${short(u.key.binarySha256)}\`), options (\`${u.key.args.join(' ')}\`) and images (old.img \`${short(u.key.oldSha256)}\`, new.img \`${short(u.key.newSha256)}\`): its size, build time and build RSS are from that run` +
          (u.measuredCmd && u.measuredCmd !== r.buildCmd ? `, measured as \`${u.measuredCmd}\`` : '') +
          (u.note ? `; ${u.note}` : '') +
          `. Its patch (kept in bench/work/${u.dir.replace(/^bench\/work\//, '')}) was applied with hpatchz and the output hashed in this run. \`--no-peer-cache\` re-runs the build.`,
      );
    }
    if (r.cacheStored)
      out.push(
        `${r.label}: result stored in the peer cache (${r.cacheStored}); later runs with the same binary, options and images reuse it (\`--no-peer-cache\` re-runs it).`,
      );
  }
  return out;
}

// Issue 17 done-when 6 on a repeat pair (the patch pair of a quarter the size x 4): build peak RSS
// ≤ 1 GiB, build time ≤ 4.5 x that base pair's in the same run, package ≤ 0.9 x hdiffz (-s at 4 GiB).
function repeatGoalChecks(pairRes, run) {
  if (pairRes.kind !== 'repeat') return null;
  const ours = pairRes.results?.find((r) => r.tool === 'ota-build');
  if (!ours) return null;
  const e = ours.status === 'ok' ? ours.packages[0] : null;
  if (!e || e.missing)
    return [`ota-build (generic): **no package** (${ours.status === 'timeout' ? 'did not finish' : 'build failed'})`];
  const ok = (b) => (b ? 'pass' : '**FAIL**');
  const x = (v) => `${v.toFixed(3)}×`;
  const baseId = `patch-${pairRes.sizeMib / REPEAT_COUNT}`;
  const checks = [
    `${ok(ours.build.maxRssKiB <= MIB)} build peak RSS ≤ 1 GiB (${fmtMiB(ours.build.maxRssKiB)} MiB)${dag(ours.build)}`,
  ];
  const base = run.pairs
    .find((pr) => pr.id === baseId)
    ?.results?.find((r) => r.tool === 'ota-build' && r.status === 'ok');
  if (base)
    checks.push(
      `${ok(ours.build.wallS <= 4.5 * base.build.wallS)} build time ≤ 4.5 × the ${baseId} pair's in this run: ${x(ours.build.wallS / base.build.wallS)} (${fmtS(ours.build.wallS)} s vs ${fmtS(base.build.wallS)} s${dag(ours.build) || dag(base.build) ? '; † a time was measured on a busy machine' : ''})`,
    );
  else
    checks.push(
      `build time ≤ 4.5 × the ${baseId} pair's: not checked: ${baseId} not in this run (or its ota-build build failed)`,
    );
  const h = pairRes.results.find((r) => r.tool === 'hdiffz');
  const he = h?.status === 'ok' ? h.packages[0] : null;
  if (he?.correct)
    checks.push(
      `${ok(e.bytes <= 0.9 * he.bytes)} package ≤ 0.9 × ${h.label}${h.reused ? ' ‡' : ''}: ${x(e.bytes / he.bytes)} (${e.bytes} vs ${he.bytes} bytes)`,
    );
  else
    checks.push(
      `package ≤ 0.9 × hdiffz -s -c-lzma: not checked: ${!h ? 'hdiffz not in this run (set HDIFFZ)' : h.status === 'ok' ? 'its output was not correct' : `hdiffz ${h.status}`}`,
    );
  return checks;
}

// Issue 17's full-package goal: ota-build's full package (no --old) ≤ 1.00 × `xz -9e -T1` of
// new.img in size, and its build no slower (wall clock), on unrounded numbers.
function fullGoalChecks(pairRes) {
  const ours = pairRes.results.find((r) => r.tool === 'ota-build-full' && r.status === 'ok');
  const ref = pairRes.results.find((r) => r.tool === 'full-xz9e' && r.status === 'ok');
  if (!ours || !ref) return null;
  const e = ours.packages[0];
  const re = ref.packages[0];
  if (!e || e.missing || !re || re.missing) return ['a package is missing: nothing to compare'];
  const ok = (b) => (b ? 'pass' : '**FAIL**');
  const size = e.bytes / re.bytes;
  const build = ours.build.wallS / ref.build.wallS;
  const checks = [
    `${ok(size <= 1)} full package size ≤ 1.00 × xz -9e -T1: ${size.toFixed(3)}× (${e.bytes} vs ${re.bytes} bytes)`,
    `${ok(build <= 1)} full package build time ≤ xz -9e -T1's: ${build.toFixed(3)}× (${fmtS(ours.build.wallS)} s vs ${fmtS(ref.build.wallS)} s)`,
  ];
  if (e.apply?.status === 'ok')
    checks.push(
      `${ok(e.correct && e.apply.maxRssKiB <= 160 * 1024)} full package applies correctly with peak RSS ≤ 160 MiB (${fmtMiB(e.apply.maxRssKiB)} MiB)`,
    );
  return checks;
}

// Issue 4's "done when" items that one pair can show, on unrounded numbers.
// The build's self-check (every kept blob decoded and compared before a package is written):
// its thread time from `build --json` (timingsMs.selfCheckMs) as a share of the build's CPU time
// (user + sys from /usr/bin/time), per ota-build build on the pair.
function selfCheckLines(pairRes) {
  const out = [];
  for (const r of pairRes.results) {
    if (!r.tool?.startsWith('ota-build') || r.status !== 'ok') continue;
    const ms = r.otaJson?.timingsMs?.selfCheckMs;
    const cpuS = (r.build?.userS ?? 0) + (r.build?.sysS ?? 0);
    if (typeof ms !== 'number' || cpuS <= 0) continue;
    const ops = (r.otaJson.packages ?? []).map((p) => p.selfCheck?.opsDecoded ?? 0);
    out.push(
      `- self-check (${r.label ?? r.tool}): ${(ms / 1000).toFixed(2)} s of thread time decoding ${ops.join(' / ')} kept blobs = ${((100 * ms) / (cpuS * 1000)).toFixed(1)} % of the build's CPU time (${cpuS.toFixed(2)} s user+sys; wall ${r.build.wallS?.toFixed(2)} s)`,
    );
  }
  return out;
}

function goalChecks(pairRes) {
  const p = pairRes; // kind, sizeMib
  const ours = pairRes.results.find((r) => r.tool === 'ota-build');
  if (!ours) return null;
  const e = ours.status === 'ok' ? ours.packages[0] : null;
  const ok = (b) => (b ? 'pass' : '**FAIL**');
  const checks = [];
  if (!e || e.missing) {
    checks.push(
      `ota-build (generic): **no package** (${ours.status === 'timeout' ? 'did not finish' : 'build failed'})`,
    );
    return checks;
  }
  const peers = pairRes.results.filter((r) => r.role === 'peer');
  const finished = peers.filter((r) => r.status === 'ok' && r.packages[0]?.correct);
  if (finished.length) {
    const smaller = finished.every((r) => e.bytes < r.packages[0].bytes);
    const detail = finished.map((r) => `${r.tool} ${(e.bytes / r.packages[0].bytes).toFixed(4)}×`).join(', ');
    checks.push(`${ok(smaller)} smaller than every peer that finished (${detail})`);
    if (p.kind === 'patch') {
      const best = bestPeer(pairRes);
      checks.push(
        `${ok(e.bytes <= 0.9 * best.bytes)} patch pair: ≤ 0.9 × best peer (${best.tool}): ${(e.bytes / best.bytes).toFixed(4)}×`,
      );
    }
  } else {
    checks.push('no peer finished: nothing to compare sizes with');
  }
  const notRun = peers
    .filter((r) => r.status !== 'ok' || !r.packages[0]?.correct)
    .map(
      (r) =>
        `${r.tool} ${r.status === 'skipped' ? 'skipped' : r.status === 'timeout' ? 'did not finish' : r.status === 'failed' ? 'failed' : 'output not correct'}`,
    );
  if (notRun.length) checks.push(`(not compared: ${notRun.join(', ')})`);
  const zt = zstdPatchTime(pairRes);
  if (p.sizeMib >= 256) {
    if (zt)
      checks.push(
        `${ok(ours.build.wallS <= 0.5 * zt)} build ≤ 0.5 × zstd-patch (${(ours.build.wallS / zt).toFixed(4)}×)`,
      );
    else checks.push('build time vs zstd-patch: zstd-patch did not finish');
  }
  if (p.sizeMib >= 1024)
    checks.push(`${ok(ours.build.maxRssKiB <= MIB)} build peak RSS ≤ 1 GiB (${fmtMiB(ours.build.maxRssKiB)} MiB)`);
  const applies = pairRes.results
    .filter((r) => r.role.startsWith('ours') && r.status === 'ok')
    .flatMap((r) => r.packages);
  for (const a of applies) {
    const rss = a.apply?.maxRssKiB;
    checks.push(
      `${ok(a.correct && rss != null && rss <= 160 * 1024)} ${a.label}: apply correct and peak RSS ≤ 160 MiB (${a.correct ? 'correct' : 'NOT correct'}, ${fmtMiB(rss)} MiB)`,
    );
  }
  return checks;
}

function renderMarkdown(run) {
  const m = run.machine;
  const L = [];
  L.push('# ota-build benchmark results');
  L.push('');
  L.push(
    `**Pairs run: ${run.pairs.map((p) => p.id).join(', ')}**${run.finished ? '' : ' (run still in progress or interrupted: partial results)'}; ` +
      `tools: ${run.options.tools.join(', ')}.`,
  );
  const notRun = ALL_SIZES.flatMap((sz) => ALL_KINDS.map((k) => `${k}-${sz}`)).filter(
    (id) => !run.pairs.some((p) => p.id === id),
  );
  if (notRun.length) L.push(`Not run this time: ${notRun.join(', ')}.`);
  L.push('');
  L.push(
    `Generated by \`npm run bench -- ${run.argv.join(' ')}\` on ${run.startedAt} ` +
      `(total runtime ${run.totalS != null ? `${(run.totalS / 60).toFixed(1)} min` : 'n/a'}). See [README.md](README.md) for what each column means and how to rerun.`,
  );
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push(`- ${m.nproc} CPUs (\`nproc\`), ${m.memTotalGiB.toFixed(1)} GiB RAM, CPU: ${m.cpuModel}; ${m.kernel}`);
  L.push(
    `- ${Object.entries(m.versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
  );
  const ob = m.otaBuild;
  L.push(
    `- ota-build ${ob.version} at commit \`${ob.commit}\`` +
      (ob.uncommitted
        ? ` **plus uncommitted changes** (${ob.uncommitted.split('\n').length} files in src/, bin/, bench/, scripts/, profiles/, proto/ or package.json)`
        : ' (clean)') +
      (ob.distNewerThanSrc === false
        ? '; **dist/ is older than src/**: the compiled dist/ is what ran'
        : '; dist/ built after the last src/ change'),
  );
  if (ob.snapshot)
    L.push(
      `- ota-build ran from a copy of bin/, dist/, profiles/ … taken at ${ob.snapshot.at} (dist/ fingerprint ${ob.snapshot.fingerprint}), so rebuilding the working tree during the run could not change it`,
    );
  const prints = [
    ...new Set(
      run.pairs.flatMap((pr) => (pr.results ?? []).flatMap((r) => [r.distBefore, r.distAfter]).filter(Boolean)),
    ),
  ];
  if (prints.length === 1) L.push(`- the same compiled dist/ ran for every ota-build row: fingerprint ${prints[0]}`);
  else if (prints.length > 1)
    L.push(
      `- **dist/ changed during this run** (${prints.length} versions: ${prints.join(', ')}): compare ota-build rows with care`,
    );
  L.push(
    `- every build and apply ran alone, one after the other, under \`/usr/bin/time -v\`; images were in the page cache (made or hashed just before). ota-build ran with its default \`--jobs\`${run.options.jobs ? ` (${run.options.jobs})` : ''}; zstd with its default -T1 (one compression thread + one I/O thread); bsdiff, xdelta3, xz -T1 single-threaded.`,
  );
  L.push('');
  L.push(
    "Columns: *size ÷ best peer patch* divides by the smallest correct patch of the peers that ran on that pair (bsdiff, xdelta3, zstd --patch-from, and hdiffz when HDIFFZ was set; full xz/zstd are reference rows, not peers), the *best peer*; *build ÷ best peer*, *apply ÷ best peer* and *apply RSS ÷ best peer* divide by that same peer's build time, apply time and apply peak RSS; *build ÷ zstd-patch* divides build wall time by zstd --patch-from's. Times are `/usr/bin/time` wall clock (0.01 s resolution); RSS is its \"Maximum resident set size\". Ratios are rounded up at the 3rd decimal; the goal checks use unrounded numbers. *correct* = sha256 of the applied output equals new.img's.",
  );
  L.push('');
  for (const pr of run.pairs) {
    L.push(`## ${pr.id}: ${pr.kind}, ${pr.sizeMib} MiB`);
    L.push('');
    if (pr.error) {
      L.push(`**pair failed:** ${pr.error}`);
      L.push('');
      continue;
    }
    const summary = (pr.pair.summary ?? '').split('\n').filter((l) => l && !/^[0-9a-f]{64}\s/.test(l) && !/:$/.test(l));
    const short = summary.filter((l) => !/^\s/.test(l)).slice(0, 4);
    L.push(short.map((l) => `- ${l}`).join('\n'));
    L.push(
      `- new.img sha256 \`${pr.pair.new.sha256}\`, ${pr.pair.new.bytes} bytes (${pr.pair.reused ? `pair reused from bench/work/${pr.kind === 'repeat' ? 'repeat' : 'pairs'}` : pr.pair.adopted ? 'images found in place and checked by sha256 to be the base pair repeated' : `pair made in ${pr.pair.madeSeconds?.toFixed(0)} s`})`,
    );
    L.push('');
    L.push(pairTable(pr, run.options));
    L.push('');
    if (pr.results.some((r) => r.tool === 'ota-build-default' && r.status === 'ok')) {
      L.push(
        '¹ one `ota-build build` without `--target` (defaults qualcomm, mediatek, unisoc) wrote all three packages; its build time and RSS are shared by the three rows.',
      );
      L.push('');
    }
    const busy = pr.results.flatMap((r) => [
      ...(disturbed(r.build) ? [`${r.label} build ${r.build.otherCores.toFixed(2)}`] : []),
      ...(r.packages ?? [])
        .filter((e) => disturbed(e.apply))
        .map((e) => `${e.label} apply ${e.apply.otherCores.toFixed(2)}`),
    ]);
    if (busy.length) {
      L.push(
        `† other processes on the machine used, on average, this many of the ${m.nproc} cores while it ran (its time is likely inflated): ${busy.join('; ')}.`,
      );
      L.push('');
    }
    const inPlace = inPlaceTable(pr);
    if (inPlace) L.push(inPlace, '');
    const selfCheck = selfCheckLines(pr);
    if (selfCheck.length) {
      L.push(...selfCheck, '');
    }
    const cacheLines = peerCacheLines(pr);
    if (cacheLines.length) L.push(...cacheLines, '');
    const repeatChecks = repeatGoalChecks(pr, run);
    if (repeatChecks) {
      L.push('Issue 17 goal checks at phone scale (done-when 6; ota-build generic):');
      L.push('');
      for (const c of repeatChecks) L.push(`- ${c}`);
      L.push('');
    }
    const hdiffChecks = pr.kind === 'repeat' ? null : hdiffGoalChecks(pr);
    if (hdiffChecks) {
      L.push('Issue 17 goal checks vs HDiffPatch (ota-build generic):');
      L.push('');
      for (const c of hdiffChecks) L.push(`- ${c}`);
      L.push('');
    }
    const fullChecks = fullGoalChecks(pr);
    if (fullChecks) {
      L.push('Issue 17 full-package goal checks (ota-build full vs xz -9e -T1):');
      L.push('');
      for (const c of fullChecks) L.push(`- ${c}`);
      L.push('');
    }
    const checks = goalChecks(pr);
    if (checks) {
      L.push('Issue 4 goal checks (ota-build generic):');
      L.push('');
      for (const c of checks) L.push(`- ${c}`);
      L.push('');
    }
    const failures = pr.results.flatMap((r) => {
      const out = [];
      if (r.build?.stderrTail) out.push(`- ${r.label} build (${r.status}): \`${oneLine(r.build.stderrTail)}\``);
      for (const e of r.packages ?? [])
        if (e.apply?.stderrTail) out.push(`- ${e.label} apply (${e.apply.status}): \`${oneLine(e.apply.stderrTail)}\``);
      return out;
    });
    if (failures.length) {
      L.push('Failure details (last lines of stderr):');
      L.push('');
      L.push(...failures);
      L.push('');
    }
  }
  // Linearity: same kind at 256 and 1024.
  const lin = [];
  for (const k of ALL_KINDS) {
    const a = run.pairs.find((p) => p.kind === k && p.sizeMib === 256);
    const b = run.pairs.find((p) => p.kind === k && p.sizeMib === 1024);
    const ta = a?.results?.find((r) => r.tool === 'ota-build' && r.status === 'ok')?.build.wallS;
    const tb = b?.results?.find((r) => r.tool === 'ota-build' && r.status === 'ok')?.build.wallS;
    if (ta && tb)
      lin.push(
        `- ${k}: ota-build build ${fmtS(ta)} s at 256 MiB → ${fmtS(tb)} s at 1024 MiB: ×${(tb / ta).toFixed(2)} for ×4 the image`,
      );
  }
  if (lin.length) {
    L.push('## Build-time growth 256 → 1024 MiB');
    L.push('');
    L.push(...lin);
    L.push('');
  }
  if (run.network) L.push(...renderNetwork(run.network));
  L.push('## Commands');
  L.push('');
  const cmds = new Map();
  for (const pr of run.pairs)
    for (const r of pr.results ?? []) {
      if (r.buildCmd && !cmds.has(r.tool)) cmds.set(r.tool, [r.buildCmd, r.packages?.[0]?.applyCmd]);
    }
  L.push('As run on the first pair (paths relative to the repository):');
  L.push('');
  L.push('```');
  for (const [t, [b, a]] of cmds) {
    L.push(`# ${t}`);
    L.push(b);
    if (a) L.push(a);
  }
  L.push('```');
  L.push('');
  return L.join('\n');
}

const oneLine = (s) =>
  s
    .replace(/\s*\n\s*/g, ' ⏎ ')
    .replace(/`/g, "'")
    .slice(0, 400);

function writeResults(run) {
  const json = run.options.json;
  mkdirSync(dirname(json), { recursive: true });
  const write = (file, text) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  write(json, JSON.stringify(run, null, 2) + '\n');
  mkdirSync(dirname(run.options.out), { recursive: true });
  write(run.options.out, renderMarkdown(run));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const t0 = performance.now();
  if (o.render) {
    const run = JSON.parse(readFileSync(o.json, 'utf8'));
    run.options.out = o.out;
    writeFileSync(o.out, renderMarkdown(run));
    log(
      `bench: rewrote ${relative(process.cwd(), o.out)} from ${relative(process.cwd(), o.json)} (run of ${run.startedAt})`,
    );
    return;
  }
  ensureTools(o, o.pairList);
  ensureDist(o);

  if (o.dryRun) {
    const fake = (p) => ({ old: join(pairDir(p), 'old.img'), new: join(pairDir(p), 'new.img'), sizeMib: p.sizeMib });
    for (const p of o.pairList) {
      const dir = pairDir(p);
      const make =
        p.kind === 'repeat'
          ? `bench/images/make-repeat-pair.sh ${relative(ROOT, pairDir(repeatBase(p)))} ${REPEAT_COUNT} ${relative(ROOT, dir)} (after pair ${repeatBase(p).id}; images already there are adopted when they hash to it x ${REPEAT_COUNT})`
          : `bench/images/make-pair.sh ${p.kind} ${p.sizeMib} ${relative(ROOT, dir)}`;
      process.stdout.write(
        `\n# pair ${p.id}: ${existsSync(join(dir, 'bench-pair.json')) ? 'cached (checked by sha256)' : make}\n`,
      );
      for (const { tool, skip } of toolsFor(p, o)) {
        if (skip) {
          process.stdout.write(`# ${tool}: ${skip}\n`);
          continue;
        }
        const def = TOOLS[tool];
        const d = join(BENCH, 'work', 'runs', p.id, tool);
        if (tool === 'hdiffz' && p.sizeMib > o.peerCacheMinMib)
          process.stdout.write(
            `# hdiffz: ${await dryRunCacheNote(p, def.build(fake(p), d, o), def.packages(d)[0].file, o)}\n`,
          );
        process.stdout.write(`${cmdline(def.build(fake(p), d, o))}\n`);
        for (const pkg of def.packages(d))
          process.stdout.write(`  ${cmdline(def.apply(fake(p), pkg, join(d, 'applied.img')))}\n`);
      }
    }
    process.stdout.write(
      `\n(each under /usr/bin/time -v, timeout ${o.timeoutS} s; results to ${relative(ROOT, o.out)})\n`,
    );
    return;
  }

  const machine = machineInfo();
  o.machineSummary = {
    hostname: machine.hostname,
    nproc: machine.nproc,
    memTotalGiB: machine.memTotalGiB,
    cpuModel: machine.cpuModel,
    kernel: machine.kernel,
  };
  if (o.snapshot) {
    machine.otaBuild.snapshot = await snapshotOtaBuild();
    log(
      `bench: running ota-build from a copy of dist/ (${relative(ROOT, SNAPSHOT)}, fingerprint ${machine.otaBuild.snapshot.fingerprint})`,
    );
  }
  const run = {
    startedAt: new Date().toISOString(),
    argv,
    finished: false,
    totalS: null,
    machine,
    options: {
      tools: o.tools,
      bsdiffMaxMib: o.bsdiffMaxMib,
      fullMaxMib: o.fullMaxMib,
      timeoutS: o.timeoutS,
      peerCache: o.peerCache,
      peerCacheMinMib: o.peerCacheMinMib,
      jobs: o.jobs,
      defaultTargetsMaxMib: o.defaultTargetsMaxMib,
      waitIdleS: o.waitIdleS,
      snapshot: o.snapshot,
      out: o.out,
      json: o.json,
    },
    pairs: [],
  };
  if (o.network === '--network-only' && existsSync(o.json)) {
    // Keep the last run's tables: only its network section is replaced.
    const prev = JSON.parse(readFileSync(o.json, 'utf8'));
    Object.assign(run, { ...prev, network: undefined, options: { ...prev.options, out: o.out, json: o.json } });
  }
  log(`bench: ${o.pairList.length} pair(s): ${o.pairList.map((p) => p.id).join(', ')}; tools: ${o.tools.join(', ')}`);
  log(
    `bench: ${machine.nproc} CPUs, ${machine.memTotalGiB.toFixed(1)} GiB RAM, ${machine.cpuModel}; ota-build ${machine.otaBuild.commit.slice(0, 12)}${machine.otaBuild.uncommitted ? ' + uncommitted changes' : ''}`,
  );
  for (const [i, p] of o.pairList.entries()) {
    const progress = `[${i + 1}/${o.pairList.length} ${p.id}]`;
    log(`${progress} pair ${p.kind} ${p.sizeMib} MiB`);
    const entry = { id: p.id, kind: p.kind, sizeMib: p.sizeMib };
    run.pairs.push(entry);
    try {
      const pair = await ensurePair(p);
      const { rec } = pair;
      entry.pair = {
        reused: pair.reused,
        adopted: rec.adopted ?? false,
        madeSeconds: rec.madeSeconds,
        summary: rec.summary,
        old: rec.old,
        new: rec.new,
      };
      entry.results = await runPair(
        p,
        { ...pair.paths, oldSha256: rec.old.sha256, newSha256: rec.new.sha256, sizeMib: p.sizeMib },
        o,
        progress,
      );
    } catch (e) {
      entry.error = e.message;
      log(`${progress} ERROR: ${e.message}`);
    }
    run.totalS = (performance.now() - t0) / 1000;
    writeResults(run);
  }
  if (o.network) {
    const ctx = {
      argv,
      commit: machine.otaBuild.commit,
      root: ROOT,
      workDir: join(BENCH, 'work'),
      otaBin: OTA_BIN,
      timed,
      waitIdle,
      ensurePair,
      log,
      options: o,
    };
    run.network = await runNetwork(ctx);
  }
  run.finished = true;
  run.totalS = (performance.now() - t0) / 1000;
  writeResults(run);
  const md = renderMarkdown(run);
  process.stdout.write(md.slice(md.indexOf('\n## ') + 1) + '\n');
  log(
    `bench: done in ${(run.totalS / 60).toFixed(1)} min; wrote ${relative(process.cwd(), o.out)} and ${relative(process.cwd(), o.json)}`,
  );
}

main().catch((e) => {
  log(`bench: ${e.stack ?? e}`);
  process.exit(1);
});
