// Hostile but validly signed packages against the real CLI: limits come from the device (its
// built-in or --device-profile profile), never from the package; decoders stop at caps derived
// from each op's declared decoder memory (apply child RSS measured with /usr/bin/time -v);
// decoders are as strict as FORMAT.md (one gzip member, one bzip2 stream, no trailing bytes);
// unsafe in-place packages are refused; verify trial-decodes full packages.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/model/operation.js';
import type { TargetHeader } from '../../src/model/target-header.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import { writePackage } from '../../src/package/package-writer.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { BIN, EPOCH, ROOT, describeRun, runCli, type CliRun } from '../helpers/run-cli.js';
import { seededRng } from '../helpers/seeded-random.js';
import { genericTargetHeader } from '../helpers/target-header.js';

const work = mkdtempSync(join(tmpdir(), 'ota-device-limits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const MiB = 1024 * 1024;
let serial = 0;

/** An op whose blob the helper places: `blob` is the op's data, `op` everything else. */
type OpSpec =
  | { readonly op: Omit<Extract<Operation, { type: 'replace' }>, 'blob'>; readonly blob: Buffer }
  | { readonly op: Omit<Extract<Operation, { type: 'diff' }>, 'blob'>; readonly blob: Buffer }
  | { readonly op: Extract<Operation, { type: 'zero' | 'copy' }>; readonly blob?: undefined };

/** Writes a package signed with the ed25519 test key (trusted by default, with a warning). */
async function signedPackage(p: {
  header?: Partial<TargetHeader>;
  target: Buffer | { sizeBytes: number; sha256: Buffer };
  source?: Buffer;
  ops: readonly OpSpec[];
  /** Private key file to sign with (default: the ed25519 test key). */
  signerPath?: string;
}): Promise<string> {
  const spool = await BlobSpool.create(work);
  const blobRanges = [];
  const operations: Operation[] = [];
  let offsetBytes = 0;
  let maxDecoder = 0;
  for (const s of p.ops) {
    if (s.blob === undefined) {
      operations.push(s.op);
      continue;
    }
    blobRanges.push(await spool.append(s.blob));
    const blob = { offsetBytes, sizeBytes: s.blob.length, sha256: sha(s.blob) };
    offsetBytes += s.blob.length;
    maxDecoder = Math.max(maxDecoder, s.op.decoderMemoryBytes);
    operations.push({ ...s.op, blob } as Operation);
  }
  const target = Buffer.isBuffer(p.target) ? { sizeBytes: p.target.length, sha256: sha(p.target) } : p.target;
  const path = join(work, `pkg-${serial++}.otapkg`);
  await writePackage(path, {
    signer: await loadSigner(p.signerPath ?? testPrivateKeyPath('ed25519')),
    spool,
    blobRanges,
    targetHeader: genericTargetHeader({ decoderMemoryLimitBytes: 2 ** 40, maxOperationBytes: 1 << 30, ...p.header }),
    manifest: {
      blockSizeBytes: p.header?.blockSizeBytes ?? 4096,
      timestampSeconds: 1,
      sourceVersion: '',
      targetVersion: '',
      maxDecoderMemoryBytes: maxDecoder,
      requiredSpaceBytes: target.sizeBytes,
      partitions: [
        {
          name: 'system',
          source: p.source
            ? { sizeBytes: p.source.length, sha256: sha(p.source), version: '', dontCare: [] }
            : undefined,
          target: { ...target, version: '', dontCare: [] },
          operations,
        },
      ],
    },
  });
  await spool.dispose();
  return path;
}

/** Runs the CLI under /usr/bin/time -v; returns the run and the child's peak RSS in bytes. */
function cliWithRss(args: readonly string[]): { run: CliRun; rssBytes: number } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.SOURCE_DATE_EPOCH = EPOCH;
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * MiB,
  });
  const kbytes = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (!kbytes) throw new Error(`no RSS in /usr/bin/time output: ${r.stderr}`);
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/^\s/.test(l) && !l.startsWith('\tCommand'))
    .join('\n');
  return {
    run: { status: r.status, stdout: r.stdout, stderr, argv: `ota-build ${args.join(' ')}` },
    rssBytes: Number(kbytes[1]) * 1024,
  };
}

function expectError(r: CliRun, exit: number, code: string): void {
  expect(r.status, describeRun(r)).toBe(exit);
  expect(r.stderr, describeRun(r)).toContain(`[${code}]`);
}

const brotli = (data: Buffer): Buffer =>
  zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
const bzip2 = (data: Buffer): Buffer => spawnSync('bzip2', ['-9', '-c'], { input: data, maxBuffer: 256 * MiB }).stdout;
const xz6 = (data: Buffer): Buffer => spawnSync('xz', ['-6', '-c'], { input: data, maxBuffer: 256 * MiB }).stdout;

/** Semi-compressible bytes: seeded random words. */
function textLike(sizeBytes: number, seed: number): Buffer {
  const rng = seededRng(seed);
  const out = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = 97 + Math.floor(rng.next() * 8);
  return out;
}

/** A 64-bit sign-magnitude little-endian integer (bsdiff's offt). */
function offt(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUIntLE(Math.abs(value), 0, 6);
  if (value < 0) b[7] = 0x80;
  return b;
}

/** A BSDIFF40 / BSDF2 patch from three already compressed blocks. */
function bsdiffPatch(magic: Buffer, ctrl: Buffer, diff: Buffer, extra: Buffer, newSizeBytes: number): Buffer {
  return Buffer.concat([magic, offt(ctrl.length), offt(diff.length), offt(newSizeBytes), ctrl, diff, extra]);
}
const BSDIFF40 = Buffer.from('BSDIFF40', 'latin1');
const bsdf2Magic = (ctrl: number, diff: number, extra: number) =>
  Buffer.concat([Buffer.from('BSDF2', 'latin1'), Buffer.of(ctrl, diff, extra)]);

const fullReplace = (sizeBytes: number, codec: string, decoderMemoryBytes: number) => ({
  type: 'replace' as const,
  dst: [{ startBlock: 0, blockCount: sizeBytes / 4096 }],
  codec,
  decoderMemoryBytes,
});
const diffOp = (sizeBytes: number, differ: string, decoderMemoryBytes: number, source: Buffer) => ({
  type: 'diff' as const,
  dst: [{ startBlock: 0, blockCount: sizeBytes / 4096 }],
  src: [{ startBlock: 0, blockCount: source.length / 4096 }],
  srcSha256: sha(source),
  differ,
  decoderMemoryBytes,
});

describe('item 4: resource limits come from the device profile', () => {
  it('a 4 MiB brotli op labelled unisoc is refused before any write (exit 7 DEVICE_LIMIT_EXCEEDED)', async () => {
    const image = textLike(4 * MiB, 1);
    const pkg = await signedPackage({
      header: { targetId: 'unisoc', vendor: 'Unisoc' },
      target: image,
      ops: [{ op: fullReplace(image.length, 'brotli', 5 * MiB), blob: brotli(image) }],
    });
    for (const extra of [['--device-target', 'unisoc'], ['--device-target', 'sprd'], []]) {
      const out = join(work, `unisoc-${serial++}.img`);
      const r = runCli(['apply', pkg, '-o', out, ...extra]);
      expectError(r, 7, 'DEVICE_LIMIT_EXCEEDED');
      expect(r.stderr).toContain('over the device');
      expect(existsSync(out)).toBe(false);
    }
    expectError(runCli(['verify', pkg, '--device-target', 'unisoc']), 7, 'DEVICE_LIMIT_EXCEEDED');
    // The device's own profile file decides: one that allows 4 MiB brotli ops applies it.
    const base = JSON.parse(readFileSync(join(ROOT, 'profiles', 'unisoc.json'), 'utf8'));
    const roomy = join(work, 'roomy-unisoc.json');
    writeFileSync(roomy, JSON.stringify({ ...base, maxOperationBytes: 8 * MiB, allowedCodecs: ['brotli'] }));
    const out = join(work, 'roomy.img');
    const ok = runCli(['apply', pkg, '-o', out, '--device-profile', roomy]);
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(sha(readFileSync(out))).toEqual(sha(image));
    // …and a profile that forbids brotli refuses it even though the package's header says nothing.
    const strict = join(work, 'strict-unisoc.json');
    writeFileSync(strict, JSON.stringify({ ...base, maxOperationBytes: 8 * MiB }));
    const refused = runCli(['apply', pkg, '-o', join(work, 'strict.img'), '--device-profile', strict]);
    expectError(refused, 7, 'DEVICE_LIMIT_EXCEEDED');
    expect(refused.stderr).toContain('codec brotli is not allowed');
  }, 60_000);

  it('an op declaring more decoder memory than the device allows is refused (exit 7)', async () => {
    const image = textLike(1 * MiB, 2);
    const pkg = await signedPackage({
      header: { targetId: 'unisoc', vendor: 'Unisoc' },
      target: image,
      ops: [{ op: fullReplace(image.length, 'zstd', 64 * MiB), blob: zlib.gzipSync(image) }],
    });
    const r = runCli(['apply', pkg, '-o', join(work, 'mem.img'), '--device-target', 'unisoc']);
    expectError(r, 7, 'DEVICE_LIMIT_EXCEEDED');
    expect(r.stderr).toContain('decoder memory');
  });

  // The control block of each bomb decodes to 24 × (N + 1) zero bytes (empty tuples), the most the
  // old cap allowed, for an N = 4 MiB op (the generic profile's largest).
  const N = 4 * MiB;
  const zerosControl = Buffer.alloc(24 * (N + 1));
  const source = textLike(N, 3);
  const bombs: Array<[string, string, () => Buffer]> = [
    [
      'BSDIFF40 bzip2',
      'bsdiff',
      () => bsdiffPatch(BSDIFF40, bzip2(zerosControl), bzip2(Buffer.alloc(0)), bzip2(Buffer.alloc(0)), N),
    ],
    [
      'BSDF2 brotli',
      'bsdf2',
      () => bsdiffPatch(bsdf2Magic(2, 1, 2), brotli(zerosControl), bzip2(Buffer.alloc(0)), brotli(Buffer.alloc(0)), N),
    ],
  ];
  for (const [label, differ, make] of bombs) {
    // 1 byte: the package; 19 MiB: what bsdiff honestly declares for a 4 MiB source and target.
    for (const declared of [1, 19 * MiB]) {
      it(`${label} control-block bomb declaring ${declared} bytes: peak RSS under 2 × declared + 64 MiB (exit 4)`, async () => {
        const oldPath = join(work, `bomb-old-${serial++}.img`);
        writeFileSync(oldPath, source);
        const pkg = await signedPackage({
          target: { sizeBytes: N, sha256: sha(Buffer.alloc(N)) },
          source,
          ops: [{ op: diffOp(N, differ, declared, source), blob: make() }],
        });
        const out = join(work, `bomb-${serial++}.img`);
        // Baseline: the same CLI, package and old image, refused (another device) before any decoding.
        const baseline = cliWithRss(['apply', pkg, '--old', oldPath, '-o', out, '--device-target', 'unisoc']);
        expectError(baseline.run, 5, 'WRONG_TARGET');
        const { run, rssBytes } = cliWithRss(['apply', pkg, '--old', oldPath, '-o', out]);
        expectError(run, 4, 'BLOB_DECODE_FAILED');
        expect(existsSync(out)).toBe(false);
        const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
        console.log(`${label}, declared ${declared}: peak RSS ${mib(rssBytes)}, baseline ${mib(baseline.rssBytes)}`);
        expect(rssBytes - baseline.rssBytes).toBeLessThan(2 * declared + 64 * MiB);
        // With an honest declaration the absolute peak is under the bound too.
        if (declared >= 16 * MiB) expect(rssBytes).toBeLessThan(2 * declared + 64 * MiB);
      }, 60_000);
    }
  }
});

describe('item 14: decoders as strict as FORMAT.md', () => {
  const image = textLike(1 * MiB, 4);
  const apply = (pkg: string, extra: string[] = []) =>
    runCli(['apply', pkg, '-o', join(work, `s-${serial++}.img`), ...extra]);

  it('a standard `xz -6` stream (8 MiB dictionary) for a 1 MiB op applies when the op declares that memory', async () => {
    const blob = xz6(image);
    const ok = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'xz', 8 * MiB + 65_584), blob }],
    });
    const r = apply(ok);
    expect(r.status, describeRun(r)).toBe(0);
    // Declaring only what a fitted 1 MiB dictionary needs is a lie for this stream: refused (exit 4).
    const short = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'xz', MiB + 65_584), blob }],
    });
    expectError(apply(short), 4, 'BLOB_DECODE_FAILED');
  });

  it('a two-member gzip blob is refused (exit 4)', async () => {
    const half = image.length / 2;
    const split = Buffer.concat([zlib.gzipSync(image.subarray(0, half)), zlib.gzipSync(image.subarray(half))]);
    const halves = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'gzip', 40 * 1024), blob: split }],
    });
    expectError(apply(halves), 4, 'BLOB_DECODE_FAILED');
    // A whole first member followed by a second (empty) one: Node's gunzip reads both.
    const blob = Buffer.concat([zlib.gzipSync(image), zlib.gzipSync(Buffer.alloc(0))]);
    const pkg = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'gzip', 40 * 1024), blob }],
    });
    const r = apply(pkg);
    expectError(r, 4, 'BLOB_DECODE_FAILED');
    expect(r.stderr).toContain('one member only');
    // The same data as one member applies.
    const one = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'gzip', 40 * 1024), blob: zlib.gzipSync(image) }],
    });
    expect(apply(one).status).toBe(0);
  });

  // A patch that copies the whole output from the extra block, whose block holds `extra`.
  const copyAll = (n: number) => Buffer.concat([offt(0), offt(n), offt(0)]);
  const source = textLike(64 * 1024, 5);
  const oldPath = join(work, 'strict-old.img');
  writeFileSync(oldPath, source);
  const diffPkg = (differ: string, patch: Buffer) =>
    signedPackage({
      target: image,
      source,
      ops: [{ op: diffOp(image.length, differ, 16 * MiB, source), blob: patch }],
    });

  it('a BSDIFF40 block of two concatenated bzip2 streams is refused (exit 4)', async () => {
    const good = bsdiffPatch(
      BSDIFF40,
      bzip2(copyAll(image.length)),
      bzip2(Buffer.alloc(0)),
      bzip2(image),
      image.length,
    );
    expect(apply(await diffPkg('bsdiff', good), ['--old', oldPath]).status).toBe(0);
    const twoStreams = Buffer.concat([good, bzip2(Buffer.from('second stream'))]);
    const r = apply(await diffPkg('bsdiff', twoStreams), ['--old', oldPath]);
    expectError(r, 4, 'BLOB_DECODE_FAILED');
    expect(r.stderr).toContain('after the end of the bzip2 stream');
  });

  it('trailing bytes after a BSDF2 brotli block are refused (exit 4)', async () => {
    const make = (tail: Buffer) =>
      bsdiffPatch(
        bsdf2Magic(2, 1, 2),
        brotli(copyAll(image.length)),
        bzip2(Buffer.alloc(0)),
        Buffer.concat([brotli(image), tail]),
        image.length,
      );
    expect(apply(await diffPkg('bsdf2', make(Buffer.alloc(0))), ['--old', oldPath]).status).toBe(0);
    const r = apply(await diffPkg('bsdf2', make(Buffer.from('junk'))), ['--old', oldPath]);
    expectError(r, 4, 'BLOB_DECODE_FAILED');
    expect(r.stderr).toContain('trailing bytes');
  });

  it('an in-place package whose REPLACE has no dst_sha256 (a re-run could not skip it) is refused by apply and verify (exit 4 PKG_IN_PLACE_UNSAFE), nothing written', async () => {
    const pkg = await signedPackage({
      header: { updateMode: 'in-place' },
      target: image,
      ops: [{ op: fullReplace(image.length, 'none', 0), blob: image }],
    });
    const out = join(work, 'in-place.img');
    expectError(runCli(['apply', pkg, '-o', out]), 4, 'PKG_IN_PLACE_UNSAFE');
    expect(existsSync(out)).toBe(false);
    expectError(runCli(['verify', pkg]), 4, 'PKG_IN_PLACE_UNSAFE');
  });
});

describe('item 10: verify proves a full package decodes', () => {
  it('a full package whose blob does not decode fails verify, with or without --old (raw or sparse): exit 4', async () => {
    const image = textLike(256 * 1024, 6);
    const garbage = Buffer.concat([zlib.gzipSync(image).subarray(0, 100), Buffer.alloc(4000, 0x55)]);
    const pkg = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'gzip', 40 * 1024), blob: garbage }],
    });
    const raw = join(work, 'verify-old.img');
    writeFileSync(raw, textLike(256 * 1024, 7));
    const sparse = join(work, 'verify-old.simg');
    expect(spawnSync('img2simg', [raw, sparse]).status).toBe(0);
    for (const extra of [[], ['--old', raw], ['--old', sparse]]) {
      expectError(runCli(['verify', pkg, ...extra]), 4, 'BLOB_DECODE_FAILED');
    }
    // A good full package still verifies.
    const good = await signedPackage({
      target: image,
      ops: [{ op: fullReplace(image.length, 'gzip', 40 * 1024), blob: zlib.gzipSync(image) }],
    });
    const r = runCli(['verify', good, '--json']);
    expect(r.status, describeRun(r)).toBe(0);
    expect(JSON.parse(r.stdout).checks).toContainEqual({
      id: 'blobs-decode',
      text: 'every replace and sourceless diff blob decodes (1)',
      count: 1,
    });
  });
});

describe('item 5: the largest allowed manifest fits the memory budget', () => {
  it('verify, apply and inspect of a package with MAX_OPERATIONS ops and MAX_TOTAL_EXTENTS extents stay under 512 MiB RSS', async () => {
    const { MAX_OPERATIONS, MAX_TOTAL_EXTENTS } = await import('../../src/format/limits.js');
    const perOp = Math.floor(MAX_TOTAL_EXTENTS / MAX_OPERATIONS);
    const bs = 512;
    const sizeBytes = MAX_OPERATIONS * perOp * bs;
    // Interleaved one-block extents, so none merge: op i writes blocks i, i + ops, i + 2 ops, …
    const ops: OpSpec[] = [];
    for (let i = 0; i < MAX_OPERATIONS; i++) {
      const dst = Array.from({ length: perOp }, (_, j) => ({ startBlock: j * MAX_OPERATIONS + i, blockCount: 1 }));
      ops.push({ op: { type: 'zero', dst } });
    }
    const target = { sizeBytes, sha256: sha(Buffer.alloc(sizeBytes)) };
    const pkg = await signedPackage({ header: { blockSizeBytes: bs }, target, ops });
    const runs = {
      verify: cliWithRss(['verify', pkg]),
      apply: cliWithRss(['apply', pkg, '-o', join(work, 'max-manifest.img')]),
      inspect: cliWithRss(['inspect', pkg, '--json']),
    };
    for (const [name, { run, rssBytes }] of Object.entries(runs)) {
      expect(run.status, describeRun(run)).toBe(0);
      console.log(
        `${name} of ${MAX_OPERATIONS} ops / ${MAX_TOTAL_EXTENTS} extents: peak RSS ${(rssBytes / MiB).toFixed(1)} MiB`,
      );
      expect(rssBytes, name).toBeLessThan(512 * MiB);
    }
    expect(JSON.parse(runs.inspect.run.stdout).partitions[0].operationCount).toBe(MAX_OPERATIONS);
  }, 120_000);

  it('inspect of an unverified package above 1000 ops shows header, sizes and counts, not the op list', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const keyPath = join(work, 'other-key.pem');
    writeFileSync(keyPath, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const ops: OpSpec[] = Array.from({ length: 1001 }, (_, i) => ({
      op: { type: 'zero' as const, dst: [{ startBlock: i, blockCount: 1 }] },
    }));
    const sizeBytes = 1001 * 4096;
    const pkg = await signedPackage({
      target: { sizeBytes, sha256: sha(Buffer.alloc(sizeBytes)) },
      ops,
      signerPath: keyPath,
    });
    const j = JSON.parse(runCli(['inspect', pkg, '--json']).stdout);
    expect(j.metadataVerified).toBe(false);
    expect(j.manifestNotDecoded).toEqual({ partitionCount: 1, operationCount: 1001, extentCount: 1001 });
    expect(j.partitions).toEqual([]);
    // What the undecoded manifest holds is unknown, not zero.
    for (const field of [
      'timestampSeconds',
      'sourceVersion',
      'targetVersion',
      'maxDecoderMemoryBytes',
      'requiredSpaceBytes',
    ])
      expect(j[field], field).toBeNull();
    // Warnings are in the JSON too, as verify's and apply's are.
    expect(j.warnings.map((w: { code: string }) => w.code)).toContain('UNVERIFIED');
    expect(j.target.targetId).toBe('generic');
    const text = runCli(['inspect', pkg]);
    expect(text.status, describeRun(text)).toBe(0);
    expect(text.stdout).toContain('not decoded: an unverified package with more than 1000 operations');
    // The HTML page draws every operation: asked for one, inspect says why it cannot and writes nothing.
    const html = join(work, 'undecoded.html');
    const refused = runCli(['inspect', pkg, '--html', html]);
    expect(refused.status, describeRun(refused)).toBe(2);
    expect(refused.stderr).toMatch(/error \[BAD_OPTION\]: --html .*1001.* pass --pubkey; nothing was written/);
    expect(refused.stdout).not.toContain('wrote');
    expect(existsSync(html)).toBe(false);
  });
});
