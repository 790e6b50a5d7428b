#!/usr/bin/env node
// `npm run fuzz -- --cases 20000 [--seed N] [--json]`: seeded mutation fuzzing of valid packages.
// Builds small valid packages (delta and full, Ed25519 and RSA; a full one with a sourceless
// deflate-aware DIFF, format 1.4), then mutates them — byte flips
// in every section, truncation at section boundaries ±1 and at random offsets, length fields set
// to 0 / max / file size ±1, swapped sections, appended bytes — and requires every case to be
// rejected by verify (and apply, for a sample) with a typed error and exit 4, 5 or 6 (7 for a newer minor version): no crash,
// no hang (per-case time limit), no RSS spike. One kind (`resignedBlob`) mutates the blob of a
// content-aware op (deflate-aware, exec-aware, or a DIFF reading back target blocks, format 1.6)
// and signs the package again with the test key, so
// only the patcher's own checks stand: `verify --old` must refuse it, unless the image it applies
// is still exactly the target (counted as harmless). Prints the seed and the counts; exits 1 on
// any failure.

import {
  closeSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
  readFileSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackages, verifyPackage, applyPackage, inspectPackage, OtaError } from '../dist/index.js';
import { mulberry32 } from '../dist/hashing/mulberry32.js';
import { DeflateSink } from '../dist/diff/deflate-sink.js';
import { zlibDeflateRaw } from '../dist/diff/zlib-deflate.js';
import { PackageReader } from '../dist/package/package-reader.js';
import { BlobSpool } from '../dist/package/blob-spool.js';
import { writePackage } from '../dist/package/package-writer.js';
import { loadSigner } from '../dist/signing/load-key.js';
import { testPrivateKeyPath } from '../dist/signing/test-keys.js';
import { createHash } from 'node:crypto';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const cases = Number(opt('cases', 2000));
const seed = Number(opt('seed', Date.now() % 2 ** 31));
const caseTimeMs = Number(opt('case-time-limit-ms', 10_000));
const rssLimitMb = Number(opt('rss-limit-mb', 256));
const json = args.includes('--json');

/** Uniform floats in [0, 1) from the build's one seeded PRNG (mulberry32). */
function prng(s) {
  const next32 = mulberry32(s);
  return () => next32() / 4294967296;
}
const rand = prng(seed);
const int = (n) => Math.floor(rand() * n);

const work = mkdtempSync(join(tmpdir(), 'ota-fuzz-'));
const quiet = { warn() {}, progress() {} };

async function makePackages() {
  const r = prng(7);
  const old = Buffer.alloc(256 * 1024);
  for (let i = 0; i < old.length; i++) old[i] = i % 4096 < 3000 ? int(256) : (i >> 7) & 0xff;
  const next = Buffer.from(old);
  for (let i = 0; i < 20_000; i++) next[Math.floor(r() * next.length)] = int(256);
  next.fill(0, 100_000, 140_000);
  writeFileSync(join(work, 'old.img'), old);
  writeFileSync(join(work, 'new.img'), next);
  writeFileSync(join(work, 'old-zip.img'), zipImage(0));
  writeFileSync(join(work, 'new-zip.img'), zipImage(1));
  writeFileSync(join(work, 'old-exec.img'), execImage(0));
  writeFileSync(join(work, 'new-exec.img'), execImage(1));
  writeFileSync(join(work, 'new-arm64.img'), arm64Image());
  writeFileSync(join(work, 'new-recipes.img'), recipesImage());
  writeFileSync(join(work, 'old-labels.img'), labelImage(0));
  writeFileSync(join(work, 'new-labels.img'), labelImage(1));
  const repeat = repeatImages();
  writeFileSync(join(work, 'old-repeat.img'), repeat.old);
  writeFileSync(join(work, 'new-repeat.img'), repeat.next);
  const built = [];
  for (const [name, extra, newName = 'new.img'] of [
    ['delta', { oldPath: join(work, 'old.img'), targets: 'generic,mediatek' }],
    ['full', { targets: 'generic' }],
    // An APK-like image whose changed chunk is a deflate-aware (differ id 5) op.
    ['zip', { oldPath: join(work, 'old-zip.img'), targets: 'generic', differ: 'deflate-aware' }, 'new-zip.img'],
    // A full package of the zip image: its chunk is a sourceless deflate-aware op (format 1.4).
    ['fullzip', { targets: 'generic' }, 'new-zip.img'],
    // An x86-64 ELF image whose changed chunk is an exec-aware (differ id 6) op.
    ['exec', { oldPath: join(work, 'old-exec.img'), targets: 'generic', differ: 'exec-aware' }, 'new-exec.img'],
    // x86-64 calls into functions that moved outside the changed chunk: an exec-aware op with a
    // label table (format 1.5).
    ['labels', { oldPath: join(work, 'old-labels.img'), targets: 'generic', differ: 'exec-aware' }, 'new-labels.img'],
    // zlib streams no parameter set reproduces: a sourceless deflate-aware op with recipes (format 1.7).
    ['recipes', { targets: 'generic' }, 'new-recipes.img'],
    // A full image of AArch64-like code: its op is an xz blob with the [ARM64 BCJ, LZMA2] chain.
    ['arm64', { targets: 'generic' }, 'new-arm64.img'],
    // New content and an edited copy of it in another chunk: a DIFF op reads back the first copy
    // from the target (format 1.6).
    ['repeat', { oldPath: join(work, 'old-repeat.img'), targets: 'generic' }, 'new-repeat.img'],
  ]) {
    const res = await buildPackages({
      newPath: join(work, newName),
      outDir: join(work, name),
      jobs: 1,
      timestampSeconds: 1,
      reporter: quiet,
      ...extra,
    });
    for (const p of res.packages) {
      const info = await inspectPackage({ packagePath: p.path, reporter: quiet });
      if (name === 'recipes' && info.formatVersion !== '1.7')
        throw new Error(`the recipes package is format ${info.formatVersion}: its deflate-aware op has no recipe`);
      if (['zip', 'fullzip', 'recipes'].includes(name) && !info.partitions[0].byEncoding['differ:deflate-aware'])
        throw new Error(`the ${name} package has no deflate-aware op to fuzz`);
      if ((name === 'exec' || name === 'labels') && !info.partitions[0].byEncoding['differ:exec-aware'])
        throw new Error(`the ${name} package has no exec-aware op to fuzz`);
      if (name === 'labels' && info.formatVersion !== '1.5')
        throw new Error(`the labels package is format ${info.formatVersion}: its exec-aware op has no label table`);
      if (name === 'repeat' && !info.partitions[0].targetReads)
        throw new Error(`the repeat package (format ${info.formatVersion}) has no op reading back target blocks`);
      const pkg = { label: `${name}-${p.target}`, bytes: readFileSync(p.path), sections: info.sections };
      if (['zip', 'fullzip', 'exec', 'labels', 'repeat'].includes(name))
        pkg.resignable = await resignable(p.path, extra.oldPath);
      // verify --old applies a full package too (the old image is not read), so the decoder runs.
      if (name === 'arm64' || name === 'recipes') pkg.resignable = await resignable(p.path, join(work, 'old.img'));
      if (name === 'arm64' && pkg.resignable.contentOps.length === 0)
        throw new Error('the arm64 package has no xz ARM64 blob to fuzz');
      built.push(pkg);
    }
  }
  return built;
}

/**
 * 256 KiB image holding zip local entries whose members are deflated as zlib level 6 makes them;
 * `version` 1 edits two members, so the deflate-aware differ re-deflates them.
 */
function zipImage(version) {
  const r = prng(11);
  const parts = [];
  for (let k = 0; k < 8; k++) {
    const words = [];
    for (let w = 0; w < 3000; w++) words.push(`w${Math.floor(r() * 500)}`);
    if (version === 1 && (k === 2 || k === 5)) words.splice(1000, 0, 'edited-in-v2');
    const data = Buffer.from(words.join(' '));
    const sink = new DeflateSink(data.length + 1024);
    zlibDeflateRaw(data, { level: 6, windowBits: 15, memLevel: 8, strategy: 0 }, sink);
    const name = Buffer.from(`lib/member${k}.js`);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(8, 8);
    header.writeUInt32LE(sink.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(name.length, 26);
    parts.push(header, name, Buffer.from(sink.bytes()));
  }
  const image = Buffer.alloc(256 * 1024);
  Buffer.concat(parts).copy(image);
  return image;
}

/**
 * 64 KiB image holding four zlib streams of much the same data (a short text each, then 12 KB
 * shared), deflated with the filtered strategy, which no parameter search tries: the full
 * package's op re-makes them from recipes.
 */
function recipesImage() {
  const r = prng(19);
  const text = (n) => {
    const words = [];
    while (words.join(' ').length < n) words.push(`w${Math.floor(r() * 300)}`);
    return Buffer.from(words.join(' ').slice(0, n));
  };
  const shared = Buffer.concat([text(4000), Buffer.from(Array.from({ length: 8000 }, () => int(16) * 16))]);
  const streams = [0, 1, 2, 3].map(() => {
    const data = Buffer.concat([text(200), shared]);
    const sink = new DeflateSink(data.length + 1024);
    zlibDeflateRaw(data, { level: 6, windowBits: 15, memLevel: 8, strategy: 1 }, sink);
    return Buffer.concat([Buffer.from([0x78, 0x9c]), sink.bytes(), Buffer.alloc(4)]);
  });
  const image = Buffer.alloc(64 * 1024);
  Buffer.concat(streams).copy(image, 4096);
  return image;
}

/**
 * 256 KiB image starting with this Node binary's first bytes (an x86-64 or AArch64 ELF);
 * `version` 1 has 300 bytes inserted at 70 000, so the code after it moves.
 */
function execImage(version) {
  const code = Buffer.alloc(256 * 1024);
  const fd = openSync(process.execPath, 'r');
  readSync(fd, code, 0, code.length, 0);
  closeSync(fd);
  const image = Buffer.alloc(256 * 1024);
  if (version === 0) code.copy(image);
  else Buffer.concat([code.subarray(0, 70_000), Buffer.alloc(300, 0x90), code.subarray(70_000)]).copy(image);
  return image;
}

/**
 * 256 KiB with x86-64-like code at 64 KiB: one-byte filler and `call rel32` to 48 "functions" in
 * the zeros before it; `version` 1 inserts 41 NOPs halfway and has the functions 0x1800 further on,
 * so no cover holds the calls' targets and the exec-aware op carries a label table.
 */
function labelImage(version) {
  const r = prng(17);
  const filler = [0x90, 0x50, 0x53, 0x55, 0x58, 0x5b, 0x5d, 0xc3];
  const code = [];
  for (let k = 0; k < 60_000; k++) {
    if (version === 1 && k === 30_000) for (let i = 0; i < 41; i++) code.push(0x90);
    if (r() < 0.3) {
      const rel = -32_768 - 256 * Math.floor(r() * 48) + (version === 1 ? 0x1800 : 0) - (code.length + 5);
      code.push(0xe8, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff);
    } else code.push(filler[Math.floor(r() * filler.length)]);
  }
  const image = Buffer.alloc(256 * 1024);
  Buffer.from(code).copy(image, 64 * 1024);
  return image;
}

/**
 * 384 KiB of AArch64-like code: 4-byte words from a small vocabulary with BL calls to 100
 * functions and ADRP references to 20 pages, so the build picks the xz ARM64 chain.
 */
function arm64Image() {
  const r = prng(13);
  const words = (384 * 1024) / 4;
  const functions = Array.from({ length: 100 }, () => Math.floor(r() * words));
  const pages = Array.from({ length: 20 }, () => Math.floor(r() * 96));
  const vocabulary = Array.from({ length: 800 }, () => (0xa9000000 + Math.floor(r() * 0x06ffffff)) >>> 0);
  const image = Buffer.alloc(words * 4);
  for (let w = 0; w < words; w++) {
    const roll = r();
    let word = vocabulary[Math.floor(r() * r() * vocabulary.length)];
    if (roll < 0.06) word = (0x94000000 | ((functions[Math.floor(r() * 100)] - w) & 0x03ffffff)) >>> 0;
    else if (roll < 0.09) {
      const page = (pages[Math.floor(r() * 20)] - Math.floor(w / 1024)) & 0x1fffff;
      word = (0x90000000 | ((page & 3) << 29) | ((page >>> 2) << 5)) >>> 0;
    }
    image.writeUInt32LE(word, w * 4);
  }
  return image;
}

/**
 * A 1 MiB pair whose new image holds 32 KiB of new content at 128 KiB and an edited copy of it at
 * 768 KiB, past a zero gap (so in another chunk): the copy's op reads back the first one.
 */
function repeatImages() {
  const r = prng(11);
  const old = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < old.length; i++) old[i] = i % 4096 < 2500 ? Math.floor(r() * 256) : (i >> 6) & 0xff;
  old.fill(0, 256 * 1024, 640 * 1024);
  const fresh = Buffer.alloc(32 * 1024);
  for (let i = 0; i < fresh.length; i++) fresh[i] = i % 512 < 300 ? Math.floor(r() * 256) : 'repeat'.charCodeAt(i % 6);
  const next = Buffer.from(old);
  fresh.copy(next, 128 * 1024);
  for (let i = 0; i < 10; i++) fresh[i * 3000 + 7] ^= 0x55;
  fresh.copy(next, 768 * 1024);
  return { old, next };
}

/** What re-signing a package needs: its decoded metadata, its blobs in op order, its content-aware ops. */
async function resignable(path, oldPath) {
  const reader = await PackageReader.open(path);
  try {
    const ops = reader.manifest.partitions[0].operations;
    const blobs = [];
    for (const op of ops) if ('blob' in op) blobs.push(await reader.readBlob(op.blob, 'fuzz'));
    const blobOf = new Map(ops.flatMap((op, i) => ('blob' in op ? [i] : [])).map((i, k) => [i, blobs[k]]));
    // Content-aware diffs, and xz blobs whose first block header names the ARM64 filter (id 0x0a).
    const contentOps = ops
      .map((op, i) =>
        (op.type === 'diff' && (['deflate-aware', 'exec-aware'].includes(op.differ) || op.targetSrc?.length > 0)) ||
        (op.type === 'replace' && blobOf.get(i)?.[14] === 0x0a)
          ? i
          : -1,
      )
      .filter((i) => i >= 0);
    const formatMinor = reader.header.formatMinor;
    return { oldPath, formatMinor, targetHeader: reader.targetHeader, manifest: reader.manifest, blobs, contentOps };
  } finally {
    await reader.close();
  }
}

/** Writes `r`'s package with op `opIndex`'s blob replaced by `blob`, signed with the ed25519 test key. */
async function resign(r, opIndex, blob, path) {
  const spool = await BlobSpool.create(work);
  const blobRanges = [];
  let b = 0;
  const operations = [];
  for (const [i, op] of r.manifest.partitions[0].operations.entries()) {
    if (!('blob' in op)) {
      operations.push(op);
      continue;
    }
    const bytes = i === opIndex ? blob : r.blobs[b];
    b++;
    const range = await spool.append(bytes);
    blobRanges.push(range);
    const sha256 = createHash('sha256').update(bytes).digest();
    operations.push({ ...op, blob: { offsetBytes: range.offsetBytes, sizeBytes: bytes.length, sha256 } });
  }
  const [part] = r.manifest.partitions;
  const manifest = { ...r.manifest, partitions: [{ ...part, operations }] };
  const signer = await loadSigner(testPrivateKeyPath('ed25519'));
  rmSync(path, { force: true });
  try {
    await writePackage(path, {
      signer,
      spool,
      blobRanges,
      targetHeader: r.targetHeader,
      manifest,
      leastFormatMinor: r.formatMinor,
    });
  } finally {
    await spool.dispose();
  }
}

/** Mutates one blob of a content-aware op: byte flips (header or anywhere), a cut, or bytes appended. */
function mutateBlob(blob) {
  const b = Buffer.from(blob);
  switch (int(4)) {
    case 0: {
      const at = int(Math.min(64, b.length));
      b[at] ^= 1 + int(255);
      return { bytes: b, where: `blob flip @${at} (header)` };
    }
    case 1: {
      const flips = 1 + int(4);
      for (let k = 0; k < flips; k++) b[int(b.length)] ^= 1 + int(255);
      return { bytes: b, where: `blob ${flips} flips` };
    }
    case 2: {
      const at = int(b.length);
      return { bytes: b.subarray(0, at), where: `blob cut @${at}` };
    }
    default:
      return { bytes: Buffer.concat([b, Buffer.alloc(1 + int(64), int(256))]), where: 'blob append' };
  }
}

/** Mutation kinds: each returns mutated bytes (never identical to the original). */
const mutations = {
  flip(pkg) {
    const names = Object.keys(pkg.sections).filter((n) => pkg.sections[n].sizeBytes > 0);
    const s = pkg.sections[names[int(names.length)]];
    const b = Buffer.from(pkg.bytes);
    const at = s.offsetBytes + [0, s.sizeBytes - 1, int(s.sizeBytes)][int(3)];
    b[at] ^= 1 + int(255);
    return { bytes: b, where: `flip @${at}` };
  },
  truncateBoundary(pkg) {
    const ends = Object.values(pkg.sections).flatMap((s) => [s.offsetBytes, s.offsetBytes + s.sizeBytes]);
    const at = Math.max(0, Math.min(pkg.bytes.length - 1, ends[int(ends.length)] + int(3) - 1));
    return { bytes: pkg.bytes.subarray(0, at), where: `truncate @${at}` };
  },
  truncateRandom(pkg) {
    const at = int(pkg.bytes.length);
    return { bytes: pkg.bytes.subarray(0, at), where: `truncate @${at}` };
  },
  lengthField(pkg) {
    const b = Buffer.from(pkg.bytes);
    const field = [16, 20, 24, 28, 32][int(5)];
    const cur = field === 32 ? Number(b.readBigUInt64LE(32)) : b.readUInt32LE(field);
    const choices = [0, 0xffffffff, b.length + 1, b.length - 1, cur + 1, cur - 1].filter((v) => v >= 0 && v !== cur);
    const v = choices[int(choices.length)];
    if (field === 32) b.writeBigUInt64LE(BigInt(int(2) ? v : 2 ** 52), 32);
    else b.writeUInt32LE(v >>> 0, field);
    return { bytes: b, where: `length @${field} = ${v}` };
  },
  swap(pkg) {
    const { metadataSignature: m, payloadSignature: p, targetHeader: t, manifest: mf } = pkg.sections;
    const b = Buffer.from(pkg.bytes);
    if (int(2)) {
      const ms = b.subarray(m.offsetBytes, m.offsetBytes + m.sizeBytes);
      const ps = b.subarray(p.offsetBytes, p.offsetBytes + p.sizeBytes);
      return {
        bytes: Buffer.concat([
          b.subarray(0, m.offsetBytes),
          ps,
          b.subarray(m.offsetBytes + m.sizeBytes, p.offsetBytes),
          ms,
        ]),
        where: 'swap signatures',
      };
    }
    const th = b.subarray(t.offsetBytes, t.offsetBytes + t.sizeBytes);
    const man = b.subarray(mf.offsetBytes, mf.offsetBytes + mf.sizeBytes);
    return {
      bytes: Buffer.concat([b.subarray(0, t.offsetBytes), man, th, b.subarray(mf.offsetBytes + mf.sizeBytes)]),
      where: 'swap target header and manifest',
    };
  },
  append(pkg) {
    return { bytes: Buffer.concat([pkg.bytes, Buffer.alloc(1 + int(64), int(256))]), where: 'append' };
  },
};

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('hang'), { hang: true })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function classify(run) {
  try {
    await withTimeout(run(), caseTimeMs);
    return 'accepted';
  } catch (err) {
    if (err?.hang) return 'hang';
    if (!(err instanceof OtaError))
      return `crash: ${String(err?.stack ?? err)
        .split('\n')
        .slice(0, 2)
        .join(' ')}`;
    if (String(err.message).includes('\n')) return 'multi-line message';
    // A damaged minor version byte may read as a newer format: exit 7 PKG_NEWER_MINOR is the documented refusal.
    const expected = [4, 5, 6].includes(err.exitCode) || err.code === 'PKG_NEWER_MINOR';
    return expected ? `exit ${err.exitCode}` : `wrong exit ${err.exitCode} ${err.code}`;
  }
}

const packages = await makePackages();
const counts = {};
const byKind = {};
const failures = [];
const baselineRss = process.memoryUsage().rss;
let maxRssMb = 0;
const kinds = Object.keys(mutations);
const resignables = packages.filter((p) => p.resignable);
const allKinds = [...kinds, 'resignedBlob'];
for (let n = 0; n < cases; n++) {
  const kind = allKinds[n % allKinds.length];
  const path = join(work, 'case.otapkg');
  if (kind === 'resignedBlob') {
    const pkg = resignables[int(resignables.length)];
    const r = pkg.resignable;
    const opIndex = r.contentOps[int(r.contentOps.length)];
    const blobIndex = r.manifest.partitions[0].operations.slice(0, opIndex).filter((op) => 'blob' in op).length;
    const m = mutateBlob(r.blobs[blobIndex]);
    if (m.bytes.equals(r.blobs[blobIndex])) {
      n--;
      continue;
    }
    await resign(r, opIndex, m.bytes, path);
    // Signed and hashed as it should be: only the patcher stands (verify --old applies to a temp file).
    let outcome = await classify(() => verifyPackage({ packagePath: path, oldPath: r.oldPath, reporter: quiet }));
    // Accepted by verify --old means the applied image hashed to the package's target: the change
    // was harmless (e.g. a region flag where adjusting changes no byte). Counted apart, not a failure.
    if (outcome === 'accepted') outcome = 'harmless (applies to the exact target)';
    const rssMb = (process.memoryUsage().rss - baselineRss) / 1048576;
    maxRssMb = Math.max(maxRssMb, rssMb);
    if (rssMb > rssLimitMb) outcome = `rss spike ${rssMb.toFixed(0)} MiB`;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (!outcome.startsWith('exit ') && !outcome.startsWith('harmless'))
      failures.push({ case: n, package: pkg.label, kind, where: m.where, outcome });
    continue;
  }
  const pkg = packages[int(packages.length)];
  const m = mutations[kind](pkg);
  if (m.bytes.equals(pkg.bytes)) {
    n--;
    continue;
  }
  writeFileSync(path, m.bytes);
  let outcome = await classify(() => verifyPackage({ packagePath: path, reporter: quiet }));
  if (n % 10 === 0 && !outcome.startsWith('crash') && outcome !== 'hang') {
    const outDir = join(work, 'apply');
    rmSync(outDir, { recursive: true, force: true });
    const applyOutcome = await classify(() =>
      applyPackage({
        packagePath: path,
        oldPath: join(work, 'old.img'),
        outputPath: join(outDir, 'x.img'),
        reporter: quiet,
      }),
    );
    if (!applyOutcome.startsWith('exit ')) outcome = `apply: ${applyOutcome}`;
    if (existsSync(outDir) && readdirSync(outDir).length > 0) outcome = 'apply left files';
  }
  const rssMb = (process.memoryUsage().rss - baselineRss) / 1048576;
  maxRssMb = Math.max(maxRssMb, rssMb);
  if (rssMb > rssLimitMb) outcome = `rss spike ${rssMb.toFixed(0)} MiB`;
  counts[outcome] = (counts[outcome] ?? 0) + 1;
  byKind[kind] = (byKind[kind] ?? 0) + 1;
  if (!outcome.startsWith('exit ')) failures.push({ case: n, package: pkg.label, kind, where: m.where, outcome });
}
rmSync(work, { recursive: true, force: true });
const rejected = Object.entries(counts)
  .filter(([k]) => k.startsWith('exit '))
  .reduce((s, [, v]) => s + v, 0);
const harmless = Object.entries(counts)
  .filter(([k]) => k.startsWith('harmless'))
  .reduce((s, [, v]) => s + v, 0);
const summary = {
  seed,
  cases,
  rejected,
  harmless,
  rejectedPercent: (100 * rejected) / cases,
  counts,
  byKind,
  maxRssGrowthMb: Math.round(maxRssMb),
  failures: failures.slice(0, 20),
};
if (json) console.log(JSON.stringify(summary));
else {
  console.log(
    `fuzz seed ${seed}: ${cases} cases, ${rejected} rejected with exit 4/5/6 (or 7 for a newer minor version) (${summary.rejectedPercent.toFixed(2)} %), max RSS growth ${summary.maxRssGrowthMb} MiB`,
  );
  console.log(`outcomes: ${JSON.stringify(counts)}`);
  console.log(`mutations: ${JSON.stringify(byKind)}`);
  for (const f of failures.slice(0, 20))
    console.log(
      `FAIL case ${f.case} (${f.package}, ${f.kind}, ${f.where}): ${f.outcome}  — replay with --seed ${seed}`,
    );
}
process.exit(failures.length === 0 ? 0 : 1);
