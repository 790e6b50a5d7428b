// Conformance: a reader written from docs/FORMAT.md alone (independent-reader/ota_reader.py, Python
// standard library plus the openssl, zstd and node CLIs) applies every package kind the builder
// writes: the golden packages, and packages the CLI builds with every REPLACE codec, every differ,
// in-place, sparse and release inputs and every signing algorithm (also two keys at once). Each
// output must equal the new image byte for byte, and the reader's "ops:" / "features:" lines show
// the op kinds and decoder paths each package really exercised. It must also refuse tampered
// packages. In CI a missing python3 fails the suite; locally it is skipped with a message.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aarch64Like, elfChunk, textLike, x86CallCode } from '../codecs/sample-data.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { tinyGoldenImages } from '../helpers/golden-inputs.js';
import { resign, sectionNamed } from '../helpers/package-bytes.js';
import { ROOT, TEST_KEYS, runCliOk } from '../helpers/run-cli.js';
import { seededRng } from '../helpers/seeded-random.js';
import { writeImagePair } from '../helpers/synthetic-images.js';
import { filteredRaw, jsLikeText, zipArchive, zipTextImage, zlibWrapped } from '../helpers/zip-archive.js';
import { SparseBuilder } from '../sparse/sparse-test-kit.js';

const READER = join(ROOT, 'test', 'interop', 'independent-reader', 'ota_reader.py');
const GOLDEN = join(ROOT, 'test', 'golden');
const python = spawnSync('python3', ['--version']);
const available = python.error === undefined && python.status === 0;
if (!available && !process.env.CI) {
  console.warn('SKIPPED independent-reader: needs python3 (apt-get install python3)');
}

const work = mkdtempSync(join(tmpdir(), 'ota-independent-reader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const write = (name: string, bytes: Buffer) => {
  const path = join(work, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
};

/** What one reader run printed: its exit, stderr, and the counts of its "ops:" and "features:" lines. */
interface ReaderRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly ops: Record<string, number>;
  readonly features: Record<string, number>;
}

/** Runs the independent reader on `pkg` with the pinned keys of `keys` and further arguments. */
function runReader(pkg: string, args: readonly string[], keys = TEST_KEYS): ReaderRun {
  const r = spawnSync('python3', [READER, pkg, '--keys', keys, ...args], {
    encoding: 'utf8',
    // The reader decodes brotli through `node -e`: the node running this test.
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const counts = (label: string) =>
    Object.fromEntries(
      (r.stderr.split('\n').find((l) => l.startsWith(`${label}:`)) ?? '')
        .slice(label.length + 1)
        .split(' ')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.lastIndexOf('=')), Number(kv.slice(kv.lastIndexOf('=') + 1))]),
    ) as Record<string, number>;
  return { status: r.status, stderr: r.stderr, ops: counts('ops'), features: counts('features') };
}

/** What an apply must show: op kinds and features the reader counted at least once. */
interface Exercised {
  readonly ops?: readonly string[];
  readonly features?: readonly string[];
}

function expectExercised(run: ReaderRun, what: Exercised, label: string): void {
  for (const op of what.ops ?? [])
    expect(run.ops[op] ?? 0, `${label}: no ${op} op in ${JSON.stringify(run.ops)}`).toBeGreaterThan(0);
  for (const f of what.features ?? [])
    expect(run.features[f] ?? 0, `${label}: ${f} not exercised: ${JSON.stringify(run.features)}`).toBeGreaterThan(0);
}

/**
 * Applies `pkg` with the reader (to a file, or a folder when `expected` maps partitions to images)
 * and requires exit 0 and output bytes equal to `expected`.
 */
function applyOk(
  label: string,
  pkg: string,
  oldPath: string | undefined,
  expected: Buffer | Record<string, Buffer>,
  what: Exercised = {},
  keys = TEST_KEYS,
): ReaderRun {
  const out = join(work, 'applied', label);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  const run = runReader(pkg, [...(oldPath ? ['--old', oldPath] : []), '-o', out], keys);
  expect(run.status, `${label}: the reader refused:\n${run.stderr}`).toBe(0);
  const images = Buffer.isBuffer(expected) ? { '': expected } : expected;
  for (const [name, image] of Object.entries(images)) {
    const got = readFileSync(name === '' ? out : join(out, `${name}.img`));
    expect(sha(got), `${label}${name ? ` ${name}` : ''}: output differs from the new image`).toBe(sha(image));
  }
  expectExercised(run, what, label);
  return run;
}

/** `ota-build build` of `newPath` (from `oldPath` when given) for generic into a fresh folder; the package's path. */
function build(name: string, oldPath: string | undefined, newPath: string, ...extra: string[]): string {
  const out = join(work, 'built', name);
  runCliOk([
    'build',
    ...(oldPath ? ['--old', oldPath] : []),
    '--new',
    newPath,
    '-o',
    out,
    '--target',
    'generic',
    '-j',
    '1',
    ...extra,
  ]);
  return join(out, 'update-generic.otapkg');
}

/** The golden suite's tiny inputs (test/golden.test.ts goldenInputs): 96 KiB with an insert, a zero run and random bytes. */
function tinyPair(): { oldImage: Buffer; newImage: Buffer; oldPath: string; newPath: string } {
  const { oldImage, newImage } = tinyGoldenImages();
  return { oldImage, newImage, oldPath: write('tiny/old.img', oldImage), newPath: write('tiny/new.img', newImage) };
}

/**
 * AArch64 code with `count` NOPs inserted before word `at` (the size kept: the end drops off), every
 * BL relinked so it still calls its function, which moved with the code after `at`: what a rebuild
 * of the code does, and what exec-aware's adjustment follows.
 */
function aarch64Inserted(code: Buffer, at: number, count: number): Buffer {
  const words = code.length / 4;
  const moved = (w: number) => (w >= at ? w + count : w);
  const out = Buffer.alloc(code.length);
  let o = 0;
  for (let w = 0; w < words && o < words; w++) {
    for (let k = 0; w === at && k < count && o < words; k++) out.writeUInt32LE(0xd503201f, 4 * o++);
    if (o >= words) break;
    let word = code.readUInt32LE(4 * w);
    if (word >>> 26 === 0x25) {
      const target = w + ((word << 6) >> 6);
      word = (0x94000000 | ((moved(target) - o) & 0x03ffffff)) >>> 0;
    }
    out.writeUInt32LE(word, 4 * o++);
  }
  return out;
}

describe.skipIf(!available && !process.env.CI)('an independent reader written from FORMAT.md alone', () => {
  beforeAll(() => {
    expect(available, 'CI needs python3 for the independent reader (apt-get install python3)').toBe(true);
    for (const [tool, args, pkg] of [
      ['openssl', ['version'], 'openssl'],
      ['zstd', ['--version'], 'zstd'],
    ] as const)
      expect(spawnSync(tool, args).status, `${tool} is required (apt-get install ${pkg})`).toBe(0);
  });

  describe('applies every golden package', () => {
    /** Checks the re-created new image against the golden inspect JSON, then applies. */
    const golden = (
      name: string,
      oldPath: string | undefined,
      expected: Buffer | Record<string, Buffer>,
      what: Exercised,
    ) => {
      const inspect = JSON.parse(readFileSync(join(GOLDEN, `${name}.inspect.json`), 'utf8'));
      const images = Buffer.isBuffer(expected) ? { [inspect.partitions[0].name]: expected } : expected;
      for (const [partition, image] of Object.entries(images))
        expect(sha(image), `${name}: the re-created ${partition} differs from the golden's input`).toBe(
          inspect.partitions.find((p: any) => p.name === partition)?.target.sha256,
        );
      return applyOk(`golden-${name}`, join(GOLDEN, `${name}.otapkg`), oldPath, expected, what);
    };

    it('tiny deltas (generic ed25519, mediatek rsa-2048, bsdiff-lzma)', () => {
      const { oldPath, newImage } = tinyPair();
      golden('tiny-generic', oldPath, newImage, { ops: ['COPY', 'ZERO', 'DIFF/zstd-dict'] });
      const mediatek = golden('tiny-mediatek', oldPath, newImage, { ops: ['DIFF/zstd-dict'] });
      expect(mediatek.stderr).toContain('signature: rsa-2048, 1 block(s), checked block 0 with rsa-2048.pub.pem');
      golden('tiny-generic-bsdiff-lzma', oldPath, newImage, { ops: ['DIFF/bsdiff-lzma'] });
    });

    it('release (1.1): changed, unchanged and new partitions', () => {
      const boot = syntheticImage(32 * 1024, 7);
      const vendor = syntheticImage(16 * 1024, 8);
      write('golden-rel/v1/boot.img', boot);
      write('golden-rel/v1/vendor.img', vendor);
      const v2 = {
        boot: applyEdits(boot, [{ kind: 'random', at: 9000, length: 200 }], 7),
        vendor,
        dtbo: syntheticImage(8 * 1024, 9),
      };
      golden('release-generic', join(work, 'golden-rel/v1'), v2, {
        ops: ['DIFF/zstd-dict', 'REPLACE/zstd'],
        features: ['unchanged-partition'],
      });
    });

    it('full zip image (1.4: sourceless deflate-aware) and zlib streams re-made from recipes (1.7)', () => {
      golden('full-zip-generic', undefined, zipTextImage(64 * 1024, 2, 7, 16_000), {
        ops: ['DIFF/deflate-aware'],
        features: ['sourceless', 'deflate:zlib-segment'],
      });
      const shared = Buffer.concat([textLike(4000, 71), elfChunk(8000)]);
      const streams = [1, 2, 3, 4].map((i) => zlibWrapped(filteredRaw(Buffer.concat([textLike(200, i), shared]))));
      const image = Buffer.alloc(64 * 1024);
      Buffer.concat(streams).copy(image, 4096);
      golden('recipes-generic-deflate', undefined, image, {
        ops: ['DIFF/deflate-aware'],
        features: ['sourceless', 'deflate:recipe-segment'],
      });
    });

    it('x86-64 exec-aware with a label table (1.5)', () => {
      const image = (code: Buffer) => {
        const img = Buffer.alloc(1024 * 1024);
        code.copy(img, 512 * 1024);
        return img;
      };
      const oldPath = write('golden-labels/old.img', image(x86CallCode(5, 60_000)));
      golden('labels-generic-exec-aware', oldPath, image(x86CallCode(5, 60_000, 30_000, 53, 0x2000)), {
        ops: ['DIFF/exec-aware'],
        features: ['exec:x86-64', 'exec:labels', 'exec:adjusted-region'],
      });
    });

    it('a DIFF reading target blocks (1.6)', () => {
      const old = syntheticImage(4 * 1024 * 1024, 61);
      const fresh = syntheticImage(32 * 1024, 62);
      const next = Buffer.from(old);
      fresh.copy(next, 1024 * 1024);
      applyEdits(fresh, [{ kind: 'random', at: 9000, length: 40 }], 63).copy(next, 3 * 1024 * 1024);
      golden('repeat-generic-target-source', write('golden-repeat/old.img', old), next, {
        ops: ['COPY', 'DIFF/zstd-dict'],
        features: ['target-src'],
      });
    });
  });

  describe('applies what the CLI builds', () => {
    // Text-like data, then two code chunks over 256 KiB (AArch64 and x86-64: xz's BCJ chains).
    const fullImage = () =>
      Buffer.concat([
        syntheticImage(256 * 1024, 11),
        aarch64Like(512 * 1024, 12),
        Buffer.concat([x86CallCode(13, 230_000), Buffer.alloc(512 * 1024)]).subarray(0, 512 * 1024),
      ]);

    it.each(['none', 'gzip', 'brotli', 'zstd', 'xz'])('a full package with --codec %s', (codec) => {
      const image = fullImage();
      const newPath = write('full/new.img', image);
      const pkg = build(`full-${codec}`, undefined, newPath, '--codec', codec);
      applyOk(`full-${codec}`, pkg, undefined, image, {
        ops: [`REPLACE/${codec}`],
        features: codec === 'xz' ? ['xz:arm64', 'xz:x86'] : [],
      });
    });

    it.each([
      ['bsdiff', []],
      ['bsdf2', ['bsdf2:bzip2']],
      ['bsdiff-lzma', []],
      ['zstd-dict', []],
    ] as const)('a delta with --differ %s', (differ, features) => {
      const pair = writeImagePair(mkdtempSync(join(work, 'pair-')), 0xd1ff, 512 * 1024);
      const pkg = build(`differ-${differ}`, pair.oldPath, pair.newPath, '--differ', differ);
      applyOk(`differ-${differ}`, pkg, pair.oldPath, pair.newImage, { ops: ['COPY', `DIFF/${differ}`], features });
    });

    it('a delta of a zip image with --differ deflate-aware (old streams, re-deflated and recipe segments)', () => {
      // Deflated JS-like members, one edited; a zlib stream made with the filtered strategy
      // (re-made from a recipe), edited too.
      const text = (i: number) => jsLikeText(40_000, 30 + i);
      const zlibText = textLike(30_000, 40);
      const image = (edited: boolean) => {
        const edit = (b: Buffer, seed: number) =>
          edited ? applyEdits(b, [{ kind: 'random', at: 20_000, length: 60 }], seed) : b;
        const img = Buffer.alloc(512 * 1024);
        zipArchive(
          [0, 1, 2, 3].map((i) => ({
            name: `lib/m${i}.js`,
            data: i === 1 ? edit(text(i), 5) : text(i),
            level: i % 2 ? 6 : 9,
          })),
        ).copy(img, 8192);
        zlibWrapped(filteredRaw(edit(zlibText, 6))).copy(img, 256 * 1024);
        return img;
      };
      const oldPath = write('zip/old.img', image(false));
      const newImage = image(true);
      const pkg = build('differ-deflate-aware', oldPath, write('zip/new.img', newImage), '--differ', 'deflate-aware');
      applyOk('differ-deflate-aware', pkg, oldPath, newImage, {
        ops: ['DIFF/deflate-aware'],
        features: ['deflate:old-stream', 'deflate:zlib-segment', 'deflate:recipe-segment'],
      });
    });

    it('x86-64 and AArch64 deltas with --differ exec-aware (references moved with the code)', () => {
      const x86 = (insert: number) => {
        const img = Buffer.alloc(1024 * 1024);
        x86CallCode(21, 200_000, insert, 37).copy(img, 256 * 1024);
        return img;
      };
      const x86Old = write('exec/x86-old.img', x86(-1));
      const x86New = x86(100_000);
      const x86Pkg = build('exec-x86', x86Old, write('exec/x86-new.img', x86New), '--differ', 'exec-aware');
      applyOk('exec-x86', x86Pkg, x86Old, x86New, {
        ops: ['DIFF/exec-aware'],
        features: ['exec:x86-64', 'exec:adjusted-region'],
      });
      const a64 = aarch64Like(1024 * 1024, 22);
      const a64Old = write('exec/a64-old.img', a64);
      const a64New = aarch64Inserted(a64, 130_000, 16);
      const a64Pkg = build('exec-a64', a64Old, write('exec/a64-new.img', a64New), '--differ', 'exec-aware');
      applyOk('exec-a64', a64Pkg, a64Old, a64New, {
        ops: ['DIFF/exec-aware'],
        features: ['exec:aarch64', 'exec:adjusted-region'],
      });
    });

    it('an in-place package: rewritten in place on a copy of the old image, and applied A/B style', () => {
      const pair = writeImagePair(mkdtempSync(join(work, 'pair-')), 0x1a9, 512 * 1024);
      const pkg = build('in-place', pair.oldPath, pair.newPath, '--update-mode', 'in-place');
      const image = join(work, 'in-place.img');
      copyFileSync(pair.oldPath, image);
      const run = runReader(pkg, ['--old', image, '--in-place']);
      expect(run.status, `the reader refused:\n${run.stderr}`).toBe(0);
      expect(sha(readFileSync(image)), 'the image rewritten in place differs from the new image').toBe(
        sha(pair.newImage),
      );
      // Stashes named by COPY/DIFF ops: their stash_ids re-encode canonically (unpacked, §4).
      expectExercised(run, { ops: ['STASH', 'FREE', 'COPY'], features: ['in-place:stash-read'] }, 'in-place');
      applyOk('in-place-ab', pkg, pair.oldPath, pair.newImage, { ops: ['STASH(skipped)'] });
    });

    it('sparse old and new images with DONT_CARE chunks (the device holds any bytes there)', () => {
      const content = syntheticImage(1024 * 1024, 31);
      const next = applyEdits(content, [{ kind: 'random', at: 300_000, length: 5000 }], 31);
      const sparse = (img: Buffer, dontCare: [number, number]) => {
        const b = new SparseBuilder();
        const [start, count] = dontCare;
        b.raw(img.subarray(0, start * 4096))
          .dontCare(count)
          .raw(img.subarray((start + count) * 4096));
        return b;
      };
      const oldSparse = sparse(content, [40, 20]);
      const newSparse = sparse(next, [150, 30]);
      const pkg = build(
        'sparse',
        write('sparse/old.simg', oldSparse.build()),
        write('sparse/new.simg', newSparse.build()),
      );
      // The device's raw old partition: anything in the DONT_CARE blocks.
      const device = Buffer.from(oldSparse.expanded());
      seededRng(32)
        .bytes(20 * 4096)
        .copy(device, 40 * 4096);
      applyOk('sparse', pkg, write('sparse/device-old.img', device), newSparse.expanded(), {
        ops: ['COPY'],
        features: ['dont-care:source', 'dont-care:target'],
      });
    });

    it('a release folder: changed, grown, unchanged and new partitions', () => {
      const v1 = {
        boot: syntheticImage(128 * 1024, 51),
        system: syntheticImage(512 * 1024, 52),
        vendor: syntheticImage(64 * 1024, 53),
      };
      const v2 = {
        boot: applyEdits(v1.boot, [{ kind: 'random', at: 40_000, length: 3000 }], 51),
        system: applyEdits(v1.system, [{ kind: 'insert', at: 100_000, length: 70_000 }], 52, false),
        vendor: v1.vendor,
        dtbo: syntheticImage(24 * 1024, 54),
      };
      for (const [name, img] of Object.entries(v1)) write(`rel/v1/${name}.img`, img);
      for (const [name, img] of Object.entries(v2)) write(`rel/v2/${name}.img`, img);
      const pkg = build('release', join(work, 'rel/v1'), join(work, 'rel/v2'));
      applyOk('release', pkg, join(work, 'rel/v1'), v2, { features: ['unchanged-partition'] });
    });

    it.each(['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096'])('a package signed with %s', (alg) => {
      const { oldPath, newPath, newImage } = tinyPair();
      const pkg = build(`key-${alg}`, oldPath, newPath, '--key', join(TEST_KEYS, `${alg}.pem`));
      const run = applyOk(`key-${alg}`, pkg, oldPath, newImage);
      expect(run.stderr).toContain(`signature: ${alg}, 1 block(s), checked block 0 with ${alg}.pub.pem`);
    });

    it('a package signed by two keys (1.2): either pinned key alone is enough', () => {
      const { oldPath, newPath, newImage } = tinyPair();
      const second = join(work, 'second-key', 'second');
      mkdirSync(dirname(second), { recursive: true });
      runCliOk(['keygen', '--algorithm', 'ed25519', '-o', second]);
      const pkg = build(
        'two-keys',
        oldPath,
        newPath,
        '--key',
        join(TEST_KEYS, 'ed25519.pem'),
        '--key',
        `${second}.pem`,
      );
      const first = applyOk('two-keys-first', pkg, oldPath, newImage);
      expect(first.stderr).toContain('signature: ed25519, 2 block(s), checked block 0 with ed25519.pub.pem');
      const other = applyOk('two-keys-second', pkg, oldPath, newImage, {}, dirname(second));
      expect(other.stderr).toContain('signature: ed25519, 2 block(s), checked block 1 with second.pub.pem');
    });
  });

  describe('refuses what it must', () => {
    let pristine: Buffer;
    let oldPath: string;
    let newImage: Buffer;
    beforeAll(() => {
      const pair = tinyPair();
      ({ oldPath, newImage } = pair);
      pristine = readFileSync(build('tamper', pair.oldPath, pair.newPath));
    });

    /** Runs the reader on a changed copy of the package; expects exit `status` and a one-line `REFUSED <code>`. */
    const refused = (name: string, change: (pkg: Buffer) => unknown, status: number, code: string) => {
      const pkg = Buffer.from(pristine);
      change(pkg);
      const path = write(`tampered/${name}.otapkg`, pkg);
      const out = join(work, 'tampered', `${name}.img`);
      const run = runReader(path, ['--old', oldPath, '-o', out]);
      expect(run.status, `${name}: ${run.stderr}`).toBe(status);
      expect(run.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^REFUSED ${code}\\b`));
      expect(() => readFileSync(out), `${name}: an output was written`).toThrow();
    };
    const flip = (pkg: Buffer, at: number) => {
      pkg[at] = pkg[at]! ^ 0x40;
      return pkg;
    };
    const middleOf = (pkg: Buffer, section: 'blobs' | 'manifest') => {
      const s = sectionNamed(pkg, section);
      return s.offsetBytes + Math.floor(s.sizeBytes / 2);
    };
    const testKey = readFileSync(join(TEST_KEYS, 'ed25519.pem'), 'utf8');

    it('the pristine package applies', () => {
      const path = write('tampered/pristine.otapkg', pristine);
      applyOk('pristine', path, oldPath, newImage);
    });

    it('a flipped blob byte (payload signature) and a flipped manifest byte (metadata signature)', () => {
      refused('blob', (pkg) => flip(pkg, middleOf(pkg, 'blobs')), 6, 'SIG_PAYLOAD_INVALID');
      refused('manifest', (pkg) => flip(pkg, middleOf(pkg, 'manifest')), 6, 'SIG_METADATA_INVALID');
    });

    it('re-signed: a flipped blob byte (blob sha256) and a flipped target sha256 (output hash)', () => {
      refused('blob-resigned', (pkg) => resign(flip(pkg, middleOf(pkg, 'blobs')), testKey), 5, 'BLOB_HASH_MISMATCH');
      refused(
        'target-resigned',
        (pkg) => {
          const at = pkg.indexOf(Buffer.from(sha(newImage), 'hex'), sectionNamed(pkg, 'manifest').offsetBytes);
          expect(at).toBeGreaterThan(0);
          resign(flip(pkg, at + 5), testKey);
        },
        5,
        'OUTPUT_MISMATCH',
      );
    });

    it('a wrong old image (one byte changed): WRONG_BASE before anything is written', () => {
      const wrong = Buffer.from(readFileSync(oldPath));
      wrong[1000] = wrong[1000]! ^ 1;
      const out = join(work, 'tampered', 'wrong-base.img');
      const run = runReader(write('tampered/pristine-again.otapkg', pristine), [
        '--old',
        write('tampered/wrong-old.img', wrong),
        '-o',
        out,
      ]);
      expect(run.status, run.stderr).toBe(5);
      expect(run.stderr).toMatch(/^REFUSED WRONG_BASE\b/m);
      expect(() => readFileSync(out)).toThrow();
    });

    it('a package no pinned key signed', () => {
      const keys = join(work, 'other-key');
      mkdirSync(keys, { recursive: true });
      copyFileSync(join(TEST_KEYS, 'rsa-2048.pub.pem'), join(keys, 'rsa-2048.pub.pem'));
      const run = runReader(write('tampered/unpinned.otapkg', pristine), ['--old', oldPath], keys);
      expect(run.status, run.stderr).toBe(6);
      expect(run.stderr).toMatch(/^REFUSED SIG_WRONG_KEY\b/m);
    });
  });
});
