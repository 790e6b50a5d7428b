#!/usr/bin/env node
// Seeds bench/work/peer-cache (peer-cache.mjs) with a peer result measured outside the bench, e.g.
// an `hdiffz -s` run by hand on the 4 GiB repeat pair, so `npm run bench` reuses it instead of
// spending 10-30 minutes. The patch is copied into the cache (hpatchz applies it in every run);
// --note is required and is printed with the row in RESULTS.md (say how it was measured).
// Usage: see USAGE below or bench/README.md.

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { recordDir, storePeerCache } from './peer-cache.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const USAGE = `Usage: node bench/seed-peer-cache.mjs --binary PATH --args 'OPTIONS <old> <new> <patch>'
  --pair-dir DIR --patch FILE --wall-s S --user-s S --sys-s S --max-rss-kib KB --measured-at ISO-DATE
  --note TEXT [--measured-cmd TEXT]

  --args          the options exactly as run.mjs passes them, with <old> <new> <patch> for the paths
                  (hdiffz: '-s -c-lzma -f -d <old> <new> <patch>'); a different line never matches
  --pair-dir      the pair's folder (image sha256 from its bench-pair.json, else hashed here)
  --patch         the patch the measured run wrote (copied into bench/work/peer-cache)
  --wall-s, --user-s, --sys-s, --max-rss-kib   /usr/bin/time's figures of the measured run
  --measured-cmd  the command that was measured, when it differs from the bench's
  --note          shown in RESULTS.md next to the row, e.g. 'measured under load by hand'
`;

function die(msg) {
  process.stderr.write(`seed-peer-cache: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function sha256File(path) {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 4 << 20 })
      .on('data', (b) => h.update(b))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

const opt = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '-h' || argv[i] === '--help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (!argv[i].startsWith('--') || i + 1 >= argv.length) die(`bad argument ${argv[i]}`);
  opt[argv[i].slice(2)] = argv[++i];
}
for (const k of [
  'binary',
  'args',
  'pair-dir',
  'patch',
  'wall-s',
  'user-s',
  'sys-s',
  'max-rss-kib',
  'measured-at',
  'note',
])
  if (!opt[k]) die(`--${k} is required`);
const num = (k) => {
  const n = Number(opt[k]);
  if (!Number.isFinite(n) || n < 0) die(`--${k}: expected a number, got ${opt[k]}`);
  return n;
};
const args = opt.args.split(/\s+/).filter(Boolean);
for (const p of ['<old>', '<new>', '<patch>']) if (!args.includes(p)) die(`--args must contain ${p}`);
if (Number.isNaN(Date.parse(opt['measured-at']))) die(`--measured-at: not a date: ${opt['measured-at']}`);
const binary = resolve(opt.binary);
const pairDir = resolve(opt['pair-dir']);
const patch = resolve(opt.patch);
for (const f of [binary, patch, join(pairDir, 'old.img'), join(pairDir, 'new.img')])
  if (!existsSync(f)) die(`${f} is missing`);

let oldSha256;
let newSha256;
const recFile = join(pairDir, 'bench-pair.json');
if (existsSync(recFile)) {
  const rec = JSON.parse(readFileSync(recFile, 'utf8'));
  oldSha256 = rec.old.sha256;
  newSha256 = rec.new.sha256;
  process.stderr.write(`image sha256 from ${recFile}\n`);
} else {
  process.stderr.write(`no ${recFile}: hashing old.img and new.img\n`);
  [oldSha256, newSha256] = await Promise.all([
    sha256File(join(pairDir, 'old.img')),
    sha256File(join(pairDir, 'new.img')),
  ]);
}
const fields = { tool: basename(binary), args, binarySha256: await sha256File(binary), oldSha256, newSha256 };
const wallS = num('wall-s');
const memTotalGiB = os.totalmem() / 2 ** 30;
const dir = storePeerCache(join(BENCH, 'work', 'peer-cache'), fields, {
  patchFile: patch,
  patchSha256: await sha256File(patch),
  move: false,
  measuredAt: new Date(opt['measured-at']).toISOString(),
  measuredCmd: opt['measured-cmd'] ?? null,
  note: opt.note,
  seeded: true,
  machine: {
    hostname: os.hostname(),
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    memTotalGiB,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
  },
  build: {
    status: 'ok',
    exitCode: 0,
    signal: null,
    wallS,
    hrWallS: wallS,
    maxRssKiB: num('max-rss-kib'),
    userS: num('user-s'),
    sysS: num('sys-s'),
    otherCores: null,
    loadBeforeCores: null,
  },
});
process.stderr.write(
  `stored ${statSync(patch).size}-byte patch and record in ${dir}\n(key dir ${basename(recordDir(join(BENCH, 'work', 'peer-cache'), fields))})\n`,
);
