// The candidate rules of a chunk (pipeline/encode-chunk.ts), with a fake encoder whose output
// sizes are given: which candidates run, in which phase, and what comes back.

import { constants as zlibConstants, crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { allEncoders, encoderByName } from '../../src/codecs/encoder-registry.js';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { allDiffers } from '../../src/diff/differ-registry.js';
import { diffOptionsFor, encodeWithRules, LEAD_LEAVES_NOTHING_SHARE } from '../../src/pipeline/encode-chunk.js';
import type { EncodeTask } from '../../src/pipeline/encode-task.js';
import { targetNeeds } from '../../src/pipeline/encode-plan.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import type { TargetProfile } from '../../src/model/target-profile.js';
import { candidateLabel, type CandidateSpec, type EncodedCandidate } from '../../src/planner/candidates.js';
import { elfChunk, randomBytes, textLike } from '../codecs/sample-data.js';
import { zipArchive } from '../helpers/zip-archive.js';

const KiB = 1024;
const SPECS: CandidateSpec[] = [
  { kind: 'replace', codec: 'none', level: 0 },
  { kind: 'replace', codec: 'gzip', level: 9 },
  { kind: 'replace', codec: 'xz', level: 9 },
  { kind: 'replace', codec: 'zstd', level: 19 },
  { kind: 'diff', differ: 'bsdiff-lzma' },
  { kind: 'diff', differ: 'zstd-dict' },
  { kind: 'diff', differ: 'bsdiff' },
  { kind: 'diff', differ: 'bsdf2' },
];

/** Runs the rules on a chunk of `chunkBytes` whose candidates have the sizes in `sizes` (default: the chunk size). */
async function rules(chunkBytes: number, sizes: Record<string, number>, task: Partial<EncodeTask> = {}) {
  const ran: string[] = [];
  const full: EncodeTask = {
    newData: new Uint8Array(chunkBytes).fill(1),
    sourceData: new Uint8Array(chunkBytes).fill(2),
    specs: SPECS,
    replaceRequired: false,
    ...task,
  };
  const out = await encodeWithRules(
    full,
    async (spec): Promise<EncodedCandidate> => {
      const label = candidateLabel(spec);
      ran.push(label);
      return { spec, bytes: Buffer.alloc(sizes[label] ?? chunkBytes), decoderMemoryBytes: 0 };
    },
    false,
  );
  return { ran, out: out.map((c) => candidateLabel(c.spec)) };
}

describe('candidate rules', () => {
  it('a large full-image chunk gets the fast codecs only when its slow codec leaves it nearly incompressible or a target cannot use it', async () => {
    const [generic] = await resolveTargets('generic');
    const full = { fullImage: true, sourceData: new Uint8Array(0), targets: [generic!] };
    const fast = ['replace/none-0', 'replace/gzip-9'];
    const packed = await rules(1024 * KiB, { 'replace/xz-9': 300 * KiB }, full);
    expect(packed.ran).toEqual(['replace/xz-9']);
    const stored = await rules(1024 * KiB, { 'replace/xz-9': 1000 * KiB }, full);
    expect(stored.ran).toEqual(['replace/xz-9', ...fast]);
    const gzipOnly = { ...generic!, id: 'gzip-only', allowedCodecs: ['none', 'gzip'] };
    const mixed = await rules(1024 * KiB, { 'replace/xz-9': 300 * KiB }, { ...full, targets: [generic!, gzipOnly] });
    expect(mixed.ran).toEqual(['replace/xz-9', ...fast]);
    // A small chunk still gets every codec, fast ones first.
    const small = await rules(128 * KiB, { 'replace/xz-9': 30 * KiB }, full);
    expect(small.ran.slice(0, 2)).toEqual(fast);
  });

  it('a content-aware differ (deflate-aware) runs with the lead only on chunks holding its content', async () => {
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const plain = await rules(1024 * KiB, { 'replace/gzip-9': 400 * KiB }, { specs });
    expect(plain.ran).not.toContain('diff/deflate-aware');
    const zip = zipArchive([{ name: 'a.txt', data: textLike(200 * KiB, 5), level: 6 }]);
    const withZip = await rules(1024 * KiB, { 'replace/gzip-9': 400 * KiB }, { specs, newData: zip });
    // It transforms content, so it runs first; without targets the skip never applies, so the
    // lead bsdiff-lzma runs after it.
    expect(withZip.ran.slice(0, 2)).toEqual(['diff/deflate-aware', 'diff/bsdiff-lzma']);
  });

  it('a tiny patch that re-deflates a changed member leaves the other leads nothing: they are skipped', async () => {
    const generic = await resolveTargets('generic');
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const text = textLike(200 * KiB, 21);
    const edited = Buffer.from(text);
    edited.write('a small edit', 100 * KiB, 'latin1');
    const stored = randomBytes(600 * KiB, 22); // an unchanged stored member: most of the chunk
    const zipOf = (a: Uint8Array) =>
      zipArchive([
        { name: 'a.txt', data: a, level: 6 },
        { name: 'b.bin', data: stored, level: 0 },
      ]);
    const [oldZip, newZip] = [zipOf(text), zipOf(edited)];
    // Real deflate-aware patches (transformsContent reads them); the other candidates' sizes are given.
    const run = async (sourceData: Buffer, targets = generic, deflateAwareMemoryBytes = 0) => {
      const ran: string[] = [];
      const task: EncodeTask = { newData: newZip, sourceData, specs, replaceRequired: false, targets };
      await encodeWithRules(
        task,
        async (spec): Promise<EncodedCandidate> => {
          ran.push(candidateLabel(spec));
          const bytes =
            spec.kind === 'diff' && spec.differ === 'deflate-aware'
              ? await new DeflateAwareDiffer().diff(sourceData, newZip)
              : Buffer.alloc(spec.kind === 'diff' ? 50 * KiB : newZip.length);
          const decoderMemoryBytes =
            spec.kind === 'diff' && spec.differ === 'deflate-aware' ? deflateAwareMemoryBytes : 0;
          return { spec, bytes, decoderMemoryBytes };
        },
        false,
      );
      return ran;
    };
    const patch = await new DeflateAwareDiffer().diff(oldZip, newZip);
    expect(patch.length).toBeLessThanOrEqual(newZip.length * LEAD_LEAVES_NOTHING_SHARE);
    expect(new DeflateAwareDiffer().transformsContent(patch, oldZip.length, newZip.length)).toBe(true);
    const skipped = await run(oldZip);
    expect(skipped[0]).toBe('diff/deflate-aware');
    expect(skipped).not.toContain('diff/bsdiff-lzma');
    // A target that cannot use deflate-aware keeps another candidate: the lead runs.
    const noDeflate = generic.map((p) => ({ ...p, id: 'no-deflate', allowedDiffers: ['bsdiff-lzma'] }));
    expect(await run(oldZip, [...generic, ...noDeflate])).toContain('diff/bsdiff-lzma');
    // So does a target whose decoder memory the deflate-aware patch exceeds.
    const small = generic.map((p) => ({ ...p, id: 'small', decoderMemoryLimitBytes: 1024 * KiB }));
    expect(await run(oldZip, small, 64 * 1024 * KiB)).toContain('diff/bsdiff-lzma');
    // A target without DIFF gets every replace candidate anyway: it does not stop the skip.
    const replaceOnly = generic.map((p) => ({
      ...p,
      id: 'replace-only',
      allowedOperations: ['zero', 'copy', 'replace'],
    }));
    expect(await run(oldZip, [...generic, ...replaceOnly] as typeof generic)).not.toContain('diff/bsdiff-lzma');
    // The new archive as its own source: no member changed, nothing re-deflated, so its tiny
    // patch is bsdiff-lzma's in a header, and bsdiff-lzma still runs (it would be smaller).
    const wrapped = await new DeflateAwareDiffer().diff(newZip, newZip);
    expect(wrapped.length).toBeLessThanOrEqual(newZip.length * LEAD_LEAVES_NOTHING_SHARE);
    expect(new DeflateAwareDiffer().transformsContent(wrapped, newZip.length, newZip.length)).toBe(false);
    const unchanged = await run(newZip);
    expect(unchanged[0]).toBe('diff/deflate-aware');
    expect(unchanged).toContain('diff/bsdiff-lzma');
    // Not a patch of its: no transform is read into it.
    expect(new DeflateAwareDiffer().transformsContent(Buffer.alloc(64), 10, 10)).toBe(false);
  });

  it('a full-image chunk of deflate streams gets the sourceless differ, and no slow codec where it wins', async () => {
    const [generic] = await resolveTargets('generic');
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const full = { fullImage: true, sourceData: new Uint8Array(0), targets: [generic!], specs };
    const zip = zipArchive([{ name: 'a.js', data: textLike(2048 * KiB, 7), level: 6 }]);
    expect(zip.length).toBeGreaterThan(256 * KiB);
    const wins = await rules(zip.length, { 'diff/deflate-aware': 20 * KiB }, { ...full, newData: zip });
    expect(wins.ran).toEqual(['diff/deflate-aware']);
    // No better than the chunk: the slow codec is tried as before.
    const loses = await rules(zip.length, {}, { ...full, newData: zip });
    expect(loses.ran).toEqual(['diff/deflate-aware', 'replace/xz-9', 'replace/none-0', 'replace/gzip-9']);
    // A target without DIFF still gets its codecs; a chunk without deflate streams no sourceless diff.
    const noDiff = {
      ...generic!,
      id: 'no-diff',
      allowedOperations: ['zero', 'replace'] as TargetProfile['allowedOperations'],
    };
    const mixed = await rules(
      zip.length,
      { 'diff/deflate-aware': 20 * KiB },
      { ...full, newData: zip, targets: [generic!, noDiff] },
    );
    expect(mixed.ran).toContain('replace/xz-9');
    const plain = await rules(1024 * KiB, { 'replace/xz-9': 300 * KiB }, full);
    expect(plain.ran).toEqual(['replace/xz-9']);
    // An in-place target takes no sourceless DIFF (targetNeeds says so).
    const inPlace = targetNeeds([{ ...generic!, updateMode: 'in-place' }]);
    expect(inPlace.sourcelessDiffAllowed).toBe(false);
    const none = await rules(zip.length, { 'diff/deflate-aware': 20 * KiB }, { ...full, ...inPlace, newData: zip });
    expect(none.ran).not.toContain('diff/deflate-aware');
  });

  it('a large full-image chunk gets no slow codec where the sourceless diff is under the floor its differ states under every codec', async () => {
    const [generic] = await resolveTargets('generic');
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const zip = zipArchive([{ name: 'a.js', data: textLike(2048 * KiB, 9), level: 6 }]);
    const full = { fullImage: true, sourceData: new Uint8Array(0), targets: [generic!], specs, newData: zip };
    const floor = new DeflateAwareDiffer().replaceFloorBytes(zip);
    // Deflated text: the floor is most of the chunk, far over half the quick estimate (zstd -1).
    expect(floor).toBeGreaterThan(0.8 * zip.length);
    const under = await rules(zip.length, { 'diff/deflate-aware': floor }, full);
    // (the fast codecs may follow: such a diff is over FULL_FAST_WORTH_SHARE of the chunk)
    expect(under.ran.filter((c) => c === 'replace/xz-9' || c === 'replace/zstd-19')).toEqual([]);
    // Over the floor a codec might win: it is tried.
    const over = await rules(zip.length, { 'diff/deflate-aware': floor + 1 }, full);
    expect(over.ran).toContain('replace/xz-9');
  });

  it("a small chunk's slow codecs are judged by the worst target's best allowed diff, not any target's", async () => {
    const [generic] = await resolveTargets('generic');
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const zip = zipArchive([{ name: 'a.js', data: textLike(400 * KiB, 8), level: 6 }]);
    expect(zip.length).toBeLessThanOrEqual(256 * KiB);
    const full = { fullImage: true, sourceData: new Uint8Array(0), specs, newData: zip };
    const sizes = { 'diff/deflate-aware': 1 * KiB, 'replace/gzip-9': 100 * KiB };
    // generic keeps the tiny sourceless diff: the slow codecs are hopeless.
    expect((await rules(zip.length, sizes, { ...full, targets: [generic!] })).ran).not.toContain('replace/xz-9');
    // A target that takes DIFF ops but not deflate-aware has only the codecs: they are tried for it.
    const noDeflateAware = { ...generic!, id: 'no-deflate-aware', allowedDiffers: ['bsdiff-lzma'] };
    const both = await rules(zip.length, sizes, { ...full, targets: [generic!, noDeflateAware] });
    expect(both.ran).toContain('replace/xz-9');
  });

  it('exec-aware runs with the lead only on chunks holding AArch64 or x86-64 code', async () => {
    const specs = [...SPECS, { kind: 'diff', differ: 'exec-aware' } as const];
    const plain = await rules(1024 * KiB, { 'replace/gzip-9': 400 * KiB }, { specs, newData: textLike(1024 * KiB, 6) });
    expect(plain.ran).not.toContain('diff/exec-aware');
    const code = elfChunk(1024 * KiB);
    const withCode = await rules(1024 * KiB, { 'replace/gzip-9': 400 * KiB }, { specs, newData: code });
    expect(withCode.ran.slice(0, 2)).toEqual(['diff/bsdiff-lzma', 'diff/exec-aware']);
  });

  it('a big chunk where bsdiff-lzma is under 0.3 x gzip: only bsdiff-lzma and the fast codecs run', async () => {
    const { ran } = await rules(1024 * KiB, { 'diff/bsdiff-lzma': 20 * KiB, 'replace/gzip-9': 400 * KiB });
    expect(ran).toEqual(['diff/bsdiff-lzma', 'replace/none-0', 'replace/gzip-9']);
  });

  it('zstd-dict runs where bsdiff-lzma leaves more than 0.3 x gzip, and on small chunks whatever it left', async () => {
    expect((await rules(1024 * KiB, { 'diff/bsdiff-lzma': 130 * KiB, 'replace/gzip-9': 400 * KiB })).ran).toContain(
      'diff/zstd-dict',
    );
    expect((await rules(256 * KiB, { 'diff/bsdiff-lzma': 1 * KiB, 'replace/gzip-9': 100 * KiB })).ran).toContain(
      'diff/zstd-dict',
    );
  });

  it('zstd-dict is skipped on a big chunk where its level-9 estimate, over its gain, already loses to bsdiff-lzma', async () => {
    const sizes = { 'diff/bsdiff-lzma': 130 * KiB, 'replace/gzip-9': 400 * KiB };
    // Text against an unrelated source: the estimate is about the whole chunk.
    const unrelated = { newData: textLike(1024 * KiB, 7), sourceData: randomBytes(1024 * KiB, 8) };
    expect((await rules(1024 * KiB, sizes, unrelated)).ran).not.toContain('diff/zstd-dict');
    // The same chunk where bsdiff-lzma did no better than the estimate could: zstd-dict runs.
    const close = { ...sizes, 'diff/bsdiff-lzma': 1000 * KiB, 'replace/gzip-9': 1024 * KiB };
    expect((await rules(1024 * KiB, close, unrelated)).ran).toContain('diff/zstd-dict');
    // A small chunk with a large source (zstd-dict's time grows with the source it loads) consults
    // it too: text against random bytes makes an estimate of the whole chunk.
    const smallChunk = { newData: textLike(128 * KiB, 7), sourceData: randomBytes(1536 * KiB, 8) };
    const smallSizes = { 'diff/bsdiff-lzma': 1 * KiB, 'replace/gzip-9': 100 * KiB };
    expect((await rules(128 * KiB, smallSizes, smallChunk)).ran).not.toContain('diff/zstd-dict');
    expect((await rules(128 * KiB, { ...smallSizes, 'diff/bsdiff-lzma': 120 * KiB }, smallChunk)).ran).toContain(
      'diff/zstd-dict',
    );
    // A chunk and source of 256 KiB together, and targets without a lead differ, never consult
    // the estimate; 4 KiB more source does.
    const small = { newData: textLike(128 * KiB, 7), sourceData: randomBytes(128 * KiB, 8) };
    expect((await rules(128 * KiB, smallSizes, small)).ran).toContain('diff/zstd-dict');
    const justOver = { ...small, sourceData: randomBytes(132 * KiB, 8) };
    expect((await rules(128 * KiB, smallSizes, justOver)).ran).not.toContain('diff/zstd-dict');
    const noLead = { ...unrelated, someDiffTargetWithoutLead: true };
    expect((await rules(1024 * KiB, sizes, noLead)).ran).toContain('diff/zstd-dict');
  });

  it('on a poorly compressible chunk the source does not help, only the codecs and content-aware differs that apply run', async () => {
    const [generic] = await resolveTargets('generic');
    const byteDiffers = ['diff/bsdiff-lzma', 'diff/zstd-dict', 'diff/bsdiff', 'diff/bsdf2'];
    const dense = randomBytes(1024 * KiB, 11);
    const unrelated = { newData: dense, sourceData: randomBytes(2048 * KiB, 12), targets: [generic!] };
    const skipped = await rules(1024 * KiB, {}, unrelated);
    for (const d of byteDiffers) expect(skipped.ran).not.toContain(d);
    expect(skipped.ran).toEqual(['replace/none-0', 'replace/gzip-9', 'replace/xz-9', 'replace/zstd-19']);
    // Where the source holds the chunk's bytes (a third of them, or a twentieth: over the 2 %
    // bar), the byte differs run; and on a small chunk, whatever the source.
    for (const heldBytes of [340 * KiB, 52 * KiB]) {
      const holding = Buffer.concat([randomBytes(1024 * KiB, 12), dense.subarray(0, heldBytes)]);
      const helped = await rules(1024 * KiB, {}, { ...unrelated, sourceData: holding });
      expect(helped.ran[0]).toBe('diff/bsdiff-lzma');
    }
    const small = { ...unrelated, newData: dense.subarray(0, 256 * KiB) };
    expect((await rules(256 * KiB, {}, small)).ran[0]).toBe('diff/bsdiff-lzma');
    // Compressible chunks are never measured: the lead runs whatever the source.
    const text = { ...unrelated, newData: textLike(1024 * KiB, 13) };
    expect((await rules(1024 * KiB, {}, text)).ran[0]).toBe('diff/bsdiff-lzma');
    // A target that can use no strong codec (gzip only, or no REPLACE at all) keeps its diffs,
    // and so does a task without a slow codec among its candidates.
    const gzipOnly = { ...generic!, id: 'gzip-only', allowedCodecs: ['none', 'gzip'] };
    const noReplace = { ...generic!, id: 'no-replace', allowedOperations: ['zero', 'copy', 'diff'] as const };
    for (const targets of [[generic!, gzipOnly], [noReplace]])
      expect((await rules(1024 * KiB, {}, { ...unrelated, targets })).ran[0]).toBe('diff/bsdiff-lzma');
    const fastOnly = SPECS.filter((s) => s.kind === 'diff' || s.codec === 'none' || s.codec === 'gzip');
    expect((await rules(1024 * KiB, {}, { ...unrelated, specs: fastOnly })).ran[0]).toBe('diff/bsdiff-lzma');
    // A content-aware differ is judged by its own applies() and beatsByteDiffers(): changed
    // deflated members still get it.
    const specs = [...SPECS, { kind: 'diff', differ: 'deflate-aware' } as const];
    const members = (v: number) =>
      Array.from({ length: 6 }, (_, i) => ({
        name: `res/m${i}.txt`,
        data: Buffer.concat([Buffer.from('v'.repeat(v)), textLike(400 * KiB, 20 + i)]), // every stream's bits move
        level: 6,
      }));
    const zip = { newData: zipArchive(members(2)), sourceData: zipArchive(members(1)), specs, targets: [generic!] };
    const aware = await rules(zip.newData.length, {}, zip);
    expect(aware.ran[0]).toBe('diff/deflate-aware');
    for (const d of byteDiffers) expect(aware.ran).not.toContain(d);
    // A stream no zlib parameter set re-makes (zlib's filtered strategy is never searched) is
    // re-made from its recipe (format 1.7): deflate-aware runs, the byte differs still do not.
    const inflated = textLike(200 * KiB, 31);
    const filtered = deflateRawSync(inflated, { level: 6, strategy: zlibConstants.Z_FILTERED });
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(inflated), 0);
    trailer.writeUInt32LE(inflated.length, 4);
    const member = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), filtered, trailer]);
    const foreign = { ...unrelated, newData: Buffer.concat([dense.subarray(0, 900 * KiB), member]), specs };
    const deflateAware = new DeflateAwareDiffer();
    expect(deflateAware.applies(foreign.sourceData, foreign.newData)).toBe(true);
    expect(deflateAware.beatsByteDiffers(foreign.sourceData, foreign.newData)).toBe(true);
    const byRecipe = await rules(foreign.newData.length, {}, foreign);
    expect(byRecipe.ran.filter((label) => label.startsWith('diff/'))).toEqual(['diff/deflate-aware']);
  });

  it('bsdiff and bsdf2 run only when bsdiff-lzma is not a candidate or some target cannot use it', async () => {
    const sizes = { 'diff/bsdiff-lzma': 200 * KiB, 'diff/zstd-dict': 150 * KiB, 'replace/gzip-9': 400 * KiB };
    expect((await rules(1024 * KiB, sizes)).ran).not.toContain('diff/bsdiff');
    expect((await rules(1024 * KiB, sizes, { someDiffTargetWithoutLead: true })).ran).toEqual(
      expect.arrayContaining(['diff/bsdiff', 'diff/bsdf2']),
    );
    // A target without bsdiff-lzma is judged without it: a tiny bsdiff-lzma does not skip zstd-dict or bsdiff.
    const tiny = { 'diff/bsdiff-lzma': 1 * KiB, 'diff/zstd-dict': 150 * KiB, 'replace/gzip-9': 400 * KiB };
    expect((await rules(1024 * KiB, tiny, { someDiffTargetWithoutLead: true })).ran).toEqual(
      expect.arrayContaining(['diff/zstd-dict', 'diff/bsdiff', 'diff/bsdf2']),
    );
    const withoutLzma = SPECS.filter((s) => !(s.kind === 'diff' && s.differ === 'bsdiff-lzma'));
    expect((await rules(1024 * KiB, sizes, { specs: withoutLzma })).ran).toEqual(
      expect.arrayContaining(['diff/zstd-dict', 'diff/bsdiff', 'diff/bsdf2']),
    );
    const onlyBsdiff = SPECS.filter((s) => s.kind === 'replace' || s.differ === 'bsdiff');
    expect((await rules(1024 * KiB, { 'diff/bsdiff': 900 * KiB }, { specs: onlyBsdiff })).ran).toContain('diff/bsdiff');
  });

  it('slow codecs run only where no diff comes within 0.7 x gzip, the others only when the first comes close', async () => {
    expect((await rules(1024 * KiB, { 'diff/bsdiff-lzma': 20 * KiB, 'replace/gzip-9': 400 * KiB })).ran).not.toContain(
      'replace/xz-9',
    );
    const hopeless = await rules(1024 * KiB, {
      'diff/bsdiff-lzma': 390 * KiB,
      'diff/zstd-dict': 380 * KiB,
      'replace/gzip-9': 400 * KiB,
      'replace/xz-9': 370 * KiB,
    });
    expect(hopeless.ran).toEqual(expect.arrayContaining(['replace/xz-9', 'replace/zstd-19']));
    const far = await rules(1024 * KiB, {
      'diff/bsdiff-lzma': 390 * KiB,
      'diff/zstd-dict': 300 * KiB,
      'replace/gzip-9': 400 * KiB,
      'replace/xz-9': 390 * KiB,
    });
    expect(far.ran).toContain('replace/xz-9');
    expect(far.ran).not.toContain('replace/zstd-19');
  });

  it('the fast codecs are skipped where every target keeps a lead diff under 0.3 x 0.7 of the zstd -1 estimate', async () => {
    const generic = await resolveTargets('generic');
    const incompressible = randomBytes(1024 * KiB, 7); // zstd -1: ~1 MiB, so the bar is ~215 KiB
    // The source holds the chunk (as where a lead diff is tiny), so the byte differs are not skipped.
    const held = { newData: incompressible, sourceData: incompressible };
    const tiny = { 'diff/bsdiff-lzma': 20 * KiB, 'replace/gzip-9': 400 * KiB };
    const skipped = await rules(1024 * KiB, tiny, { ...held, targets: generic });
    expect(skipped.ran).toEqual(['diff/bsdiff-lzma']);
    // Under 0.3 x 0.7 of the estimate, over 0.3 x 0.5 of it (the bar before): skipped.
    const between = { 'diff/bsdiff-lzma': 190 * KiB, 'replace/gzip-9': 400 * KiB };
    expect((await rules(1024 * KiB, between, { ...held, targets: generic })).ran).toEqual(['diff/bsdiff-lzma']);
    const near = { 'diff/bsdiff-lzma': 230 * KiB, 'replace/gzip-9': 400 * KiB };
    expect((await rules(1024 * KiB, near, { ...held, targets: generic })).ran).toContain('replace/gzip-9');
    // The same small diff of a chunk that compresses well: gzip might come close, so it runs.
    expect((await rules(1024 * KiB, tiny, { targets: generic })).ran).toContain('replace/gzip-9');
    // A target that cannot use the lead diff may keep a fast codec: they run.
    const noLead = generic.map((p) => ({ ...p, id: 'no-lead', allowedDiffers: ['zstd-dict'] }));
    const mixed = await rules(1024 * KiB, tiny, { ...held, targets: [...generic, ...noLead] });
    expect(mixed.ran).toContain('replace/gzip-9');
    // Without the targets (a cached candidate) or when replace is required, nothing is skipped.
    const withoutTargets = await rules(1024 * KiB, tiny, held);
    expect(withoutTargets.ran.slice(0, 2)).toEqual(['diff/bsdiff-lzma', 'replace/none-0']);
    expect(withoutTargets.ran).toContain('replace/gzip-9');
    const required = await rules(1024 * KiB, tiny, {
      ...held,
      targets: generic,
      replaceRequired: true,
    });
    expect(required.ran).toEqual(expect.arrayContaining(['replace/gzip-9', 'replace/xz-9']));
  });

  it("the floor's premise: gzip -9 makes no chunk smaller than 0.7 of zstd -1's", async () => {
    const [gzip, zstd] = [encoderByName('gzip'), encoderByName('zstd')];
    const zeroRuns = Buffer.concat([textLike(64 * KiB, 9), Buffer.alloc(512 * KiB), textLike(64 * KiB, 10)]);
    for (const data of [randomBytes(256 * KiB, 8), textLike(512 * KiB, 4), elfChunk(512 * KiB), zeroRuns]) {
      const [g, z] = [
        (await gzip.encode(data, 9)).length,
        (await zstd.encode(data, zstd.traits.estimateLevel!)).length,
      ];
      expect(g).toBeGreaterThanOrEqual(0.7 * z);
    }
  });

  it('a target without DIFF gets every replace candidate; no source means no differ', async () => {
    const required = await rules(
      1024 * KiB,
      { 'diff/bsdiff-lzma': 1 * KiB, 'replace/gzip-9': 400 * KiB },
      { replaceRequired: true },
    );
    expect(required.ran).toEqual(expect.arrayContaining(['replace/xz-9', 'replace/zstd-19']));
    const full = await rules(1024 * KiB, {}, { sourceData: new Uint8Array(0) });
    expect(full.ran.filter((l) => l.startsWith('diff/'))).toEqual([]);
  });

  it("returns the candidates in the task's spec order, whatever order they ran in", async () => {
    const { ran, out } = await rules(1024 * KiB, {
      'diff/bsdiff-lzma': 390 * KiB,
      'diff/zstd-dict': 380 * KiB,
      'replace/gzip-9': 400 * KiB,
      'replace/xz-9': 370 * KiB,
    });
    expect(ran[0]).toBe('diff/bsdiff-lzma');
    expect(out).toEqual(SPECS.map(candidateLabel).filter((l) => out.includes(l)));
  });

  it('reads the traits each plugin declares (no plugin names in the rules), and the targets once per build', async () => {
    expect(Object.fromEntries(allEncoders().map((e) => [e.name, [e.traits.speedClass, e.traits.probeOrder]]))).toEqual({
      none: ['fast', 0],
      gzip: ['fast', 0],
      brotli: ['slow', 2],
      zstd: ['slow', 1],
      xz: ['slow', 0],
    });
    expect(Object.fromEntries(allDiffers().map((d) => [d.name, d.traits]))).toEqual({
      bsdiff: { tier: 'fallback', slowOnZeroRuns: true },
      'zstd-dict': { tier: 'middle', slowOnZeroRuns: false, estimateGain: 1.15 },
      bsdf2: { tier: 'fallback', slowOnZeroRuns: true },
      'bsdiff-lzma': { tier: 'lead', slowOnZeroRuns: false },
      'deflate-aware': {
        tier: 'lead',
        slowOnZeroRuns: false,
        keepWhole: 'zip-members',
        wholeChunkBytes: 1024 * 1024,
        withoutSource: true,
      },
      'exec-aware': { tier: 'lead', slowOnZeroRuns: false },
    });
    const generic = await resolveTargets('generic');
    const noLead = (await resolveTargets('generic')).map((p) => ({ ...p, allowedDiffers: ['bsdiff', 'zstd-dict'] }));
    const noDiff = (await resolveTargets('generic')).map((p) => ({
      ...p,
      allowedOperations: ['zero', 'copy', 'replace'] as const,
    }));
    expect(targetNeeds(generic)).toMatchObject({ replaceRequired: false, someDiffTargetWithoutLead: false });
    expect(targetNeeds([...generic, ...noLead])).toMatchObject({ someDiffTargetWithoutLead: true });
    expect(targetNeeds([...generic, ...noDiff])).toMatchObject({
      replaceRequired: true,
      someDiffTargetWithoutLead: false,
    });
  });
});

describe('diffOptionsFor', () => {
  it('passes the least maxFormatMinor of the targets that allow the differ, none when they read any', async () => {
    const [generic] = await resolveTargets('generic');
    const old4 = { ...generic!, id: 'old4', maxFormatMinor: 4 };
    const old2 = { ...generic!, id: 'old2', maxFormatMinor: 2, allowedDiffers: ['bsdiff-lzma'] };
    expect(diffOptionsFor({ targets: [generic!] }, 'exec-aware')).toEqual({});
    expect(diffOptionsFor({}, 'exec-aware')).toEqual({});
    expect(diffOptionsFor({ targets: [generic!, old4, old2] }, 'exec-aware')).toEqual({ maxFormatMinor: 4 });
    expect(diffOptionsFor({ targets: [generic!, old4, old2] }, 'bsdiff-lzma')).toEqual({ maxFormatMinor: 2 });
  });
});
