// The deflate-aware differ (id 5): APK-like zip pairs (ours and python3's), gzip members and zlib
// streams diff through their inflated bytes and re-deflate exactly; streams no zlib parameter set
// reproduces are re-made from recipes (format 1.7; older targets keep them as bytes); seeded random
// edits of zip archives round-trip (fast-check). Its patcher refuses
// hostile headers (parameters out of range, lying lengths, references outside the source, more
// memory than declared, bit flips) with BLOB_DECODE_FAILED (exit 4) before allocating.

import { spawnSync } from 'node:child_process';
import { crc32, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import {
  readDeflateAwareHeader,
  writeDeflateAwarePatch,
  type DeflateAwareHeader,
  type DeflateAwareSegment,
} from '../../src/diff/deflate-aware-patch.js';
import { DeflateAwarePatcher } from '../../src/diff/deflate-aware-patcher.js';
import { MINOR_DEFLATE_RECIPES } from '../../src/format/package-header.js';
import { GarbageBuffers } from '../helpers/garbage-buffers.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { elfChunk, flipBit, prng, textLike } from '../codecs/sample-data.js';
import { filteredRaw, zipArchive, zlibRaw, zlibWrapped, type ZipMember } from '../helpers/zip-archive.js';

const differ = new DeflateAwareDiffer();
const patcher = new DeflateAwarePatcher();
const LEVELS = [6, 9, 1, 6, 5];

/** `count` members of text and machine code, 2-40 KB each, at the common levels. */
function members(seed: number, count: number): ZipMember[] {
  const next = prng(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = 2000 + Math.floor(next() * 38_000);
    const data = i % 3 === 2 ? elfChunk(size, (1 + i) << 16) : textLike(size, seed * 100 + i);
    return { name: `lib/m${String(i).padStart(3, '0')}.js`, data, level: LEVELS[i % LEVELS.length]! };
  });
}

/** A copy of `m` with a few bytes of member `index` replaced and a short insertion. */
function edited(ms: readonly ZipMember[], index: number, seed: number): ZipMember[] {
  const next = prng(seed);
  return ms.map((m, i) => {
    if (i !== index) return m;
    const data = Buffer.from(m.data);
    for (let k = 0; k < 8; k++) data[Math.floor(next() * data.length)] = 0x41 + Math.floor(next() * 26);
    const at = Math.floor(next() * data.length);
    return { ...m, data: Buffer.concat([data.subarray(0, at), Buffer.from('/* v2 */'), data.subarray(at)]) };
  });
}

async function roundTrip(source: Buffer, target: Buffer): Promise<{ patch: Buffer; header: DeflateAwareHeader }> {
  const patch = await differ.diff(source, target);
  const memory = differ.patchDecoderMemoryBytes(patch, source.length, target.length);
  const out = await patcher.patch(source, patch, target.length, memory);
  expect(out.equals(target)).toBe(true);
  return { patch, header: readDeflateAwareHeader(patch, source.length, target.length).header };
}

const deflateSegments = (h: DeflateAwareHeader) => h.segments.filter((s) => s.kind === 'deflate');
const recipeSegments = (h: DeflateAwareHeader) => h.segments.filter((s) => s.kind === 'recipe');

function gzipMember(data: Buffer, level: number): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, level === 9 ? 2 : 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, zlibRaw(data, level), trailer]);
}

/** Data of one family: a short text of its own, then what every member shares (text and code). */
const shared = Buffer.concat([textLike(6000, 70), elfChunk(14_000)]);
const family = (seed: number) => Buffer.concat([textLike(300, seed), shared]);

/** A zlib stream Node's zlib (not the reference zlib) deflated, with a placeholder Adler-32. */
const nodeZlibStream = (data: Buffer) => zlibWrapped(deflateRawSync(data, { level: 6 }));

function zlibStream(data: Buffer, level: number): Buffer {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(((b << 16) | a) >>> 0, 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), zlibRaw(data, level), trailer]);
}

describe('deflate-aware differ', () => {
  const oldMembers = members(71, 24);
  const oldZip = zipArchive(oldMembers);
  const newZip = zipArchive(edited(edited(oldMembers, 5, 72), 17, 73));

  it('diffs an APK-like zip pair through the changed members only, far smaller than bsdiff-lzma', async () => {
    const { patch, header } = await roundTrip(oldZip, newZip);
    expect(deflateSegments(header)).toHaveLength(2);
    expect(header.oldStreams).toHaveLength(2);
    const bytes = await new BsdiffLzmaDiffer().diff(oldZip, newZip);
    expect(patch.length * 5).toBeLessThan(bytes.length);
    expect(differ.patchDecoderMemoryBytes(patch, oldZip.length, newZip.length)).toBeGreaterThan(
      differ.decoderMemoryBytes(oldZip.length, newZip.length),
    );
  });

  it('works in lent buffers of any contents, reused from patch to patch, and leaves the source as it was', async () => {
    const otherZip = zipArchive(edited(oldMembers, 11, 74));
    const lender = new GarbageBuffers();
    for (const target of [newZip, otherZip, newZip]) {
      const patch = await differ.diff(oldZip, target);
      const takes = await lender.check(oldZip, target, (buffers) =>
        patcher.patch(oldZip, patch, target.length, undefined, buffers),
      );
      // The inner patch's blocks (a stored or empty one is not lent) besides its own three.
      expect(takes).toEqual(expect.arrayContaining(['work', 'expanded', 'output', 'control']));
      for (const use of takes) expect(['work', 'expanded', 'output', 'control', 'diff', 'extra']).toContain(use);
    }
  });

  it('is deterministic', async () => {
    expect(
      (await differ.diff(Buffer.from(oldZip), Buffer.from(newZip))).equals(await differ.diff(oldZip, newZip)),
    ).toBe(true);
  });

  it('reproduces the members of archives python3 zipfile made with the real zlib (levels 6 and 9)', async () => {
    const script = [
      'import io, sys, zipfile',
      'for v in (1, 2):',
      '    b = io.BytesIO()',
      '    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:',
      '        for i in range(12):',
      '            info = zipfile.ZipInfo(f"res/f{i}.txt", date_time=(2024, 1, 1, 0, 0, 0))',
      '            body = "".join(f"{i}:{j * j % 9973} " for j in range(1500 + 97 * i))',
      '            body = (body[:3000] + ("v2 edit " if v == 2 and i == 7 else "") + body[3000:]).encode()',
      '            z.writestr(info, body, zipfile.ZIP_DEFLATED, 6 if i % 2 else 9)',
      '    sys.stdout.buffer.write(len(b.getvalue()).to_bytes(4, "little") + b.getvalue())',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script]);
    expect(r.status, r.stderr?.toString()).toBe(0);
    const first = r.stdout.readUInt32LE(0);
    const old = r.stdout.subarray(4, 4 + first);
    const next = r.stdout.subarray(8 + first);
    const { header } = await roundTrip(old, next);
    expect(deflateSegments(header).map((s) => s.kind === 'deflate' && s.params.level)).toEqual([6]);
  });

  it('re-deflates gzip members and zlib streams (unnamed old streams)', async () => {
    const a = textLike(50_000, 74);
    const b = Buffer.concat([a.subarray(0, 20_000), Buffer.from('changed!'), a.subarray(20_000)]);
    const old = Buffer.concat([Buffer.from('head'), gzipMember(a, 9), Buffer.alloc(100, 7), zlibStream(a, 4)]);
    const next = Buffer.concat([Buffer.from('head'), gzipMember(b, 9), Buffer.alloc(100, 7), zlibStream(b, 4)]);
    const { header } = await roundTrip(old, next);
    expect(deflateSegments(header)).toHaveLength(2);
    expect(header.oldStreams).toHaveLength(2);
  });

  it("re-makes streams no zlib parameter set reproduces (Node's own zlib fork) from recipes, as format 1.7; older targets keep them as bytes", async () => {
    // Node's zlib (Chromium's fork) writes other streams than the reference zlib at these settings.
    const b = family(1);
    expect(zlibRaw(b, 6).equals(deflateRawSync(b, { level: 6 }))).toBe(false);
    // Four streams of much the same data (as a font's subsets are): their inflated bytes code far
    // smaller together than their deflated bytes do.
    const target = Buffer.concat([1, 2, 3, 4].map((i) => nodeZlibStream(family(i))));
    const { patch, header } = await roundTrip(Buffer.from('head'), target);
    expect(recipeSegments(header)).toHaveLength(4);
    expect(differ.patchFormatMinor(patch)).toBe(MINOR_DEFLATE_RECIPES);
    const older = await differ.diff(Buffer.from('head'), target, { maxFormatMinor: MINOR_DEFLATE_RECIPES - 1 });
    const olderHeader = readDeflateAwareHeader(older, 4, target.length).header;
    expect(olderHeader.segments.every((s) => s.kind === 'raw')).toBe(true);
    expect(differ.patchFormatMinor(older)).toBe(0);
    const memory = differ.patchDecoderMemoryBytes(older, 4, target.length);
    expect((await patcher.patch(Buffer.from('head'), older, target.length, memory)).equals(target)).toBe(true);
    expect(patch.length).toBeLessThan(older.length / 2);
  });

  it('keeps a stream as bytes where that makes the smaller patch (its old version in the source, or a token-heavy stream)', async () => {
    // One byte inserted: the stream's bytes diff against the old stream's, which its recipe cannot.
    const a = textLike(60_000, 75);
    const b = Buffer.concat([a.subarray(0, 30_000), Buffer.from('x'), a.subarray(30_000)]);
    const [oldStream, newStream] = [nodeZlibStream(a), nodeZlibStream(b)];
    const { patch, header } = await roundTrip(oldStream, newStream);
    const asBytes = await differ.diff(oldStream, newStream, { maxFormatMinor: MINOR_DEFLATE_RECIPES - 1 });
    expect(patch.length).toBe(asBytes.length);
    expect(recipeSegments(header)).toHaveLength(0);
    // Highly repetitive text alone: its recipe is nearly all tokens, no smaller than the stream.
    const alone = await roundTrip(Buffer.from('head'), nodeZlibStream(textLike(20_000, 76)));
    expect(recipeSegments(alone.header)).toHaveLength(0);
  });

  it('stops trying zlib parameters on a kind of stream after 8 that none reproduces (unless one did): the rest go to recipes', async () => {
    // The filtered strategy is not among the parameters searched: such members never reproduce.
    const foreign = (seed: number) => {
      const data = family(seed);
      const member = gzipMember(data, 6);
      return Buffer.concat([member.subarray(0, 10), filteredRaw(data), member.subarray(member.length - 8)]);
    };
    const plain = (seed: number) => gzipMember(textLike(20_000, seed), 6);
    const zip = zipArchive([{ name: 'a.js', data: textLike(20_000, 90), level: 6 }]);
    const chunk = (foreignCount: number) =>
      Buffer.concat([...Array.from({ length: foreignCount }, (_, i) => foreign(80 + i)), plain(79), zip]);
    // Eight misses: the reproducible gzip member after them gets a recipe; the zip member (another kind) its parameters.
    const gaveUp = (await roundTrip(Buffer.from('head'), chunk(8))).header;
    expect(deflateSegments(gaveUp)).toHaveLength(1);
    expect(recipeSegments(gaveUp)).toHaveLength(9);
    const tried = (await roundTrip(Buffer.from('head'), chunk(7))).header;
    expect(deflateSegments(tried)).toHaveLength(2);
    expect(recipeSegments(tried)).toHaveLength(7);
    // A kind with a hit first is tried to the end.
    const hitFirst = Buffer.concat([plain(79), ...Array.from({ length: 9 }, (_, i) => foreign(80 + i)), plain(78)]);
    const both = (await roundTrip(Buffer.from('head'), hitFirst)).header;
    expect(deflateSegments(both)).toHaveLength(2);
    expect(recipeSegments(both)).toHaveLength(9);
  });

  it('applies only where the target holds a whole deflate stream', () => {
    expect(differ.applies(Buffer.alloc(0), newZip)).toBe(true);
    expect(differ.applies(Buffer.alloc(0), textLike(100_000, 76))).toBe(false);
    expect(differ.applies(Buffer.alloc(0), elfChunk(200_000))).toBe(false);
    // Cut before its end, a member is not a whole stream.
    expect(differ.applies(Buffer.alloc(0), newZip.subarray(0, 40))).toBe(false);
  });

  it('beats a byte differ only where a stream it reproduces has changed (elsewhere its patch is bsdiff-lzma with a header)', async () => {
    // Two members edited: reproduced, not in the source as they are.
    expect(differ.beatsByteDiffers(oldZip, newZip)).toBe(true);
    // The same archive: every stream is in the source unchanged.
    expect(differ.beatsByteDiffers(oldZip, Buffer.from(oldZip))).toBe(false);
    // A stream no zlib parameter set reproduces (the filtered strategy is never searched).
    const data = textLike(20_000, 91);
    const member = gzipMember(data, 6);
    const foreign = Buffer.concat([member.subarray(0, 10), filteredRaw(data), member.subarray(member.length - 8)]);
    expect(differ.applies(Buffer.from('head'), foreign)).toBe(true);
    // Re-made from a recipe unless the source holds it as it is, or the targets read no recipe.
    expect(differ.beatsByteDiffers(Buffer.from('head'), foreign)).toBe(true);
    expect(differ.beatsByteDiffers(Buffer.from('head'), foreign, { maxFormatMinor: MINOR_DEFLATE_RECIPES - 1 })).toBe(
      false,
    );
    expect(differ.beatsByteDiffers(Buffer.concat([Buffer.from('old'), foreign]), foreign)).toBe(false);
    // The search it keeps serves only the diff() of the same pair: another source's, or another
    // target's, is searched afresh (one member edited against the old archive, or none edited).
    expect(differ.beatsByteDiffers(oldZip, newZip)).toBe(true);
    const other = zipArchive(edited(oldMembers, 9, 92));
    expect(deflateSegments((await roundTrip(oldZip, other)).header)).toHaveLength(1);
    expect(differ.beatsByteDiffers(oldZip, newZip)).toBe(true);
    expect(deflateSegments((await roundTrip(newZip, newZip)).header)).toHaveLength(0);
    expect(differ.beatsByteDiffers(oldZip, newZip)).toBe(true);
    expect(deflateSegments((await roundTrip(oldZip, newZip)).header)).toHaveLength(2);
  });

  it('round-trips seeded random edits of zip archives (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom('edit', 'drop', 'add', 'relevel', 'rename'), { minLength: 1, maxLength: 4 }),
        async (seed, count, edits) => {
          const before = members(seed, count).map((m) => ({ ...m, data: m.data.subarray(0, 6000) }));
          let after = before;
          const next = prng(seed ^ 0x5a5a);
          for (const e of edits) {
            const i = Math.floor(next() * after.length);
            if (after.length === 0) break;
            if (e === 'edit') after = edited(after, i, seed + i);
            if (e === 'drop') after = after.filter((_, k) => k !== i);
            if (e === 'add') after = [...after, { name: `new/${i}.js`, data: textLike(3000, seed + 9), level: 9 }];
            if (e === 'relevel') after = after.map((m, k) => (k === i ? { ...m, level: m.level === 1 ? 9 : 1 } : m));
            if (e === 'rename') after = after.map((m, k) => (k === i ? { ...m, name: `${m.name}.bak` } : m));
          }
          await roundTrip(zipArchive(before), zipArchive(after));
        },
      ),
      { numRuns: 20, seed: 20261204 },
    );
  });
});

describe('deflate-aware patcher on hostile patches', () => {
  const oldZip = zipArchive(members(81, 6));
  const newZip = zipArchive(edited(members(81, 6), 2, 82));
  const valid = differ.diff(oldZip, newZip);

  async function parts() {
    const patch = await valid;
    const { header, innerOffsetBytes } = readDeflateAwareHeader(patch, oldZip.length, newZip.length);
    return { patch, header, inner: patch.subarray(innerOffsetBytes) };
  }
  const withSegment = (h: DeflateAwareHeader, change: (s: DeflateAwareSegment) => DeflateAwareSegment) => ({
    ...h,
    segments: h.segments.map((s) => (s.kind === 'deflate' ? change(s) : s)),
  });
  const apply = (patch: Uint8Array, memoryBytes?: number) => patcher.patch(oldZip, patch, newZip.length, memoryBytes);

  it('refuses zlib parameters out of range', async () => {
    const { header, inner } = await parts();
    for (const bad of [
      { level: 0 },
      { level: 10 },
      { windowBits: 8 },
      { windowBits: 16 },
      { memLevel: 0 },
      { memLevel: 10 },
      { strategy: 2 },
      { strategy: 3 },
      { strategy: 255 },
    ]) {
      const h = withSegment(header, (s) => (s.kind === 'deflate' ? { ...s, params: { ...s.params, ...bad } } : s));
      const error = await expectBlobError(apply(writeDeflateAwarePatch(h, inner)));
      expect(error.message).toMatch(/outside 1\.\.9, 9\.\.15, 1\.\.9, \{0, 1, 4\}/);
    }
  });

  it('refuses lying lengths: inflated and deflated sizes of segments and old streams', async () => {
    const { header, inner } = await parts();
    const cases: DeflateAwareHeader[] = [
      withSegment(header, (s) => (s.kind === 'deflate' ? { ...s, inflatedBytes: s.inflatedBytes + 1 } : s)),
      withSegment(header, (s) => (s.kind === 'deflate' ? { ...s, inflatedBytes: 2 ** 31 } : s)),
      withSegment(header, (s) => (s.kind === 'deflate' ? { ...s, deflatedBytes: s.deflatedBytes + 1 } : s)),
      { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, inflatedBytes: o.inflatedBytes - 1 })) },
      { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, inflatedBytes: o.inflatedBytes + 1 })) },
      { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, deflatedBytes: o.deflatedBytes + 1 })) },
      { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, inflatedBytes: 2 ** 40 })) },
    ];
    // A deflated length that still adds up (the next raw segment gives up a byte): the re-deflate
    // makes the real length, not the declared one.
    const i = header.segments.findIndex((s) => s.kind === 'deflate');
    const shifted = header.segments.map((s, k) =>
      k === i && s.kind === 'deflate'
        ? { ...s, deflatedBytes: s.deflatedBytes + 1 }
        : k === i + 1 && s.kind === 'raw'
          ? { ...s, sizeBytes: s.sizeBytes - 1 }
          : s,
    );
    cases.push({ ...header, segments: shifted });
    for (const h of cases) await expectBlobError(apply(writeDeflateAwarePatch(h, inner)));
  });

  it('refuses old streams outside the source, too many streams or segments, unknown kinds', async () => {
    const { header, inner, patch } = await parts();
    const outside = [oldZip.length, oldZip.length - 10, 2 ** 40].map((sourceOffsetBytes) => ({
      ...header,
      oldStreams: header.oldStreams.map((o) => ({ ...o, sourceOffsetBytes })),
    }));
    for (const h of outside) await expectBlobError(apply(writeDeflateAwarePatch(h, inner)));
    const varint = (v: number) => {
      const out: number[] = [];
      for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
      return [...out, v];
    };
    const head = (...rest: number[]) =>
      Buffer.concat([Buffer.from('DEFLDIFF'), Buffer.from([...varint(newZip.length), ...rest])]);
    await expectBlobError(apply(head(...varint(5000))));
    await expectBlobError(apply(head(0, ...varint(70_000))));
    await expectBlobError(apply(head(0, 1, 7, 1)));
    await expectBlobError(apply(head(0, 1, 0, 0)));
    const error = await expectBlobError(apply(Buffer.concat([Buffer.from('DEFLDIFX'), patch.subarray(8)])));
    expect(error.message).toMatch(/bad magic/);
  });

  it('refuses recipe segments whose lengths lie or are empty, and recipes past their memory', async () => {
    const target = Buffer.concat([1, 2, 3, 4].map((i) => nodeZlibStream(family(i))));
    const head = Buffer.from('head');
    const patch = await differ.diff(head, target);
    const { header, innerOffsetBytes } = readDeflateAwareHeader(patch, head.length, target.length);
    const inner = patch.subarray(innerOffsetBytes);
    const memory = differ.patchDecoderMemoryBytes(patch, head.length, target.length);
    const at = header.segments.findIndex((s) => s.kind === 'recipe');
    const next = header.segments.findIndex((s, i) => i > at && s.kind === 'recipe');
    // Moves `by` of the destination's bytes from the first recipe segment's stream to the next's:
    // the header still adds up, but the first stream is re-made longer or shorter than declared.
    const shifted = (by: number) =>
      writeDeflateAwarePatch(
        {
          ...header,
          segments: header.segments.map((s, i) =>
            s.kind !== 'recipe' || (i !== at && i !== next)
              ? s
              : { ...s, deflatedBytes: s.deflatedBytes + (i === at ? -by : by) },
          ),
        },
        inner,
      );
    const run = (bytes: Uint8Array, declared = memory) => patcher.patch(head, bytes, target.length, declared);
    expect((await expectBlobError(run(shifted(1)))).message).toMatch(/recipe makes more than its declared/);
    expect((await expectBlobError(run(shifted(-1)))).message).toMatch(/recipe makes \d+ bytes, declared/);
    const empty = writeDeflateAwarePatch(
      {
        ...header,
        segments: header.segments.map((s, i) => (i === at && s.kind === 'recipe' ? { ...s, recipeBytes: 0 } : s)),
      },
      inner,
    );
    expect((await expectBlobError(run(empty))).message).toMatch(/empty recipe/);
    // The recipe chain's tables are part of the memory a patch with recipes declares.
    expect((await expectBlobError(run(patch, memory - 1))).message).toMatch(/decoder memory/);
    expect((await run(patch)).equals(target)).toBe(true);
  });

  it('refuses a patch that needs more memory than the op declares, before allocating', async () => {
    const { patch } = await parts();
    const need = differ.patchDecoderMemoryBytes(patch, oldZip.length, newZip.length);
    expect((await apply(patch, need)).equals(newZip)).toBe(true);
    const error = await expectBlobError(apply(patch, need - 1));
    expect(error.message).toMatch(/decoder memory/);
  });

  it('never crashes on header bit flips: a typed error or the exact size', async () => {
    const { patch, inner } = await parts();
    const headerBits = (patch.length - inner.length) * 8;
    const next = prng(83);
    for (let trial = 0; trial < 200; trial++) {
      const bit = Math.floor(next() * headerBits);
      const outcome = await apply(flipBit(patch, bit)).then(
        (out) => out,
        (e: unknown) => e,
      );
      if (outcome instanceof Buffer) expect(outcome.length, `bit ${bit}`).toBe(newZip.length);
      else await expectBlobError(Promise.reject(outcome));
    }
  });
});
