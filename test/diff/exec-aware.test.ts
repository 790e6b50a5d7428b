// The exec-aware differ (id 6): its branch transforms invert exactly on any bytes (fast-check,
// random bytes and real x86-64 code: node's own binary) and convert the instructions FORMAT.md
// §4a names; the ELF scan takes well-formed AArch64/x86-64 headers only and falls back to branch
// density; moved AArch64 code diffs smaller than with bsdiff-lzma alone; hostile patches (bad
// magic or arch, lying sizes, memory under the need, truncation) fail with BLOB_DECODE_FAILED.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transformAarch64, transformBranches, transformX86 } from '../../src/diff/branch-transform.js';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { chunkCodeArch, elfCodeArchAt } from '../../src/diff/elf-code-scan.js';
import { ExecAwareDiffer } from '../../src/diff/exec-aware-differ.js';
import { execAwareApplyBytes, readExecAwareArch } from '../../src/diff/exec-aware-patch.js';
import { ExecAwarePatcher } from '../../src/diff/exec-aware-patcher.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { elfChunk, prng, randomBytes, textLike } from '../codecs/sample-data.js';

const differ = new ExecAwareDiffer();
const patcher = new ExecAwarePatcher();
const word = (w: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(w >>> 0);
  return b;
};

/**
 * AArch64-like code: `count` words, a quarter of them BL to one of 64 fixed "functions" (targets
 * given as absolute word indexes), an eighth ADRP of one of 16 pages, the rest other instructions.
 */
function aarch64Code(seed: number, count: number, shiftWords = 0, insertAtWord = -1): Buffer {
  const next = prng(seed);
  const words: number[] = [];
  for (let k = 0; k < count; k++) {
    const r = next();
    words.push(
      r < 0.25
        ? 0x25 * 2 ** 26 // BL placeholder, target set below
        : r < 0.375
          ? 0x90000000 | (Math.floor(next() * 32) & 0x1f)
          : 0xd2800000 | (Math.floor(next() * 0x1fffff) << 5) | Math.floor(next() * 32),
    );
  }
  const targets = Array.from({ length: 64 }, (_, i) => i * 97 + 5);
  const pick = prng(seed + 1);
  const out = Buffer.alloc((count + shiftWords) * 4);
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (k === insertAtWord) for (let s = 0; s < shiftWords; s++, at++) out.writeUInt32LE(0xd503201f, at * 4); // NOP
    let w = words[k]!;
    if (w >>> 26 === 0x25) {
      const dest = targets[Math.floor(pick() * targets.length)]!;
      w = (0x94000000 | ((dest - at) & 0x03ffffff)) >>> 0;
    } else if ((w & 0x9f000000) >>> 0 === 0x90000000) {
      const page = Math.floor(pick() * 16) - Math.floor((at * 4) / 4096);
      const imm = page & 0x1fffff;
      w = ((w & 0x9000001f) | ((imm & 3) << 29) | ((imm >>> 2) << 5)) >>> 0;
    }
    out.writeUInt32LE(w >>> 0, at * 4);
    at++;
  }
  return out;
}

describe('branch transforms', () => {
  it('invert exactly on random bytes, for both arches (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom('aarch64', 'x86-64'), (bytes, arch) => {
        const data = Buffer.from(bytes);
        transformBranches(data, arch as 'aarch64' | 'x86-64', true);
        transformBranches(data, arch as 'aarch64' | 'x86-64', false);
        expect(data.equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('invert exactly on branch-dense bytes and on real code (node binary, synthetic AArch64)', () => {
    const dense = fc.array(
      fc.oneof(
        fc.integer({ min: 0x94000000, max: 0x97ffffff }),
        fc.integer({ min: 0x90000000, max: 0x9fffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
      ),
      { maxLength: 512 },
    );
    fc.assert(
      fc.property(dense, fc.nat(3), (words, skew) => {
        const bytes = Buffer.concat([Buffer.alloc(skew, 0xe8), ...words.map(word)]);
        for (const arch of ['aarch64', 'x86-64'] as const) {
          const data = Buffer.from(bytes);
          transformBranches(data, arch, true);
          transformBranches(data, arch, false);
          expect(data.equals(bytes)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // x86 opcodes next to near-range operand bytes: a call's operand overlapping an unconverted
    // E8/E9's (the case a naive rel32 scan gets wrong).
    const x86Alphabet = fc.array(fc.constantFrom(0xe8, 0xe9, 0x00, 0xff, 0x01, 0xfe, 0x02, 0x80), { maxLength: 2048 });
    fc.assert(
      fc.property(x86Alphabet, (bytes) => {
        const data = Buffer.from(bytes);
        transformX86(data, true);
        transformX86(data, false);
        expect(data.equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 500 },
    );
    for (const real of [elfChunk(1 << 20, 0), elfChunk(1 << 20), aarch64Code(9, 1 << 18)]) {
      for (const arch of ['aarch64', 'x86-64'] as const) {
        const data = Buffer.from(real);
        transformBranches(data, arch, true);
        expect(data.equals(real)).toBe(false);
        transformBranches(data, arch, false);
        expect(data.equals(real)).toBe(true);
      }
    }
  });

  it('turn AArch64 BL and ADRP into absolute targets, and x86 E8/E9 rel32 (FORMAT.md §4)', () => {
    // BL at word 3 (offset 12) with imm26 -2 -> 1; B (0x14...) is left alone.
    const a = Buffer.concat([word(0), word(0x14000005), word(0), word(0x97fffffe)]);
    transformAarch64(a, true);
    expect(a.readUInt32LE(12)).toBe(0x94000001);
    expect(a.readUInt32LE(4)).toBe(0x14000005);
    // ADRP x0, +1 page at offset 8192 (page 2) -> page 3; an ADRP with an immediate past ±2^17 is left alone.
    const adrp = Buffer.alloc(8200);
    adrp.writeUInt32LE(0xb0000000, 8192); // immlo 1, immhi 0: +1 page
    adrp.writeUInt32LE(0x90800000, 8196); // immhi bit 18 set: out of the range
    transformAarch64(adrp, true);
    expect(adrp.readUInt32LE(8192)).toBe(0xf0000000); // immlo 3 = page 3
    expect(adrp.readUInt32LE(8196)).toBe(0x90800000);
    // call rel32 +0x10 at offset 2 -> 0x10 + 7; jmp rel32 -0x20 at 7 -> -0x20 + 12; far call left.
    const x = Buffer.from([0x90, 0x90, 0xe8, 0x10, 0, 0, 0, 0xe9, 0xe0, 0xff, 0xff, 0xff, 0xe8, 0, 0, 0, 0x40]);
    transformX86(x, true);
    expect(x.readInt32LE(3)).toBe(0x17);
    expect(x.readInt32LE(8)).toBe(-0x20 + 12);
    expect(x.readUInt32LE(13)).toBe(0x40000000);
  });
});

describe('ELF scan', () => {
  const header = (machine: number, patch?: (b: Buffer) => void): Buffer => {
    const b = Buffer.alloc(4096);
    b.write('\x7fELF', 0, 'latin1');
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b.writeUInt16LE(machine, 18);
    b.writeUInt32LE(1, 20);
    b.writeBigUInt64LE(64n, 32);
    b.writeUInt16LE(56, 54);
    b.writeUInt16LE(1, 56);
    b.writeUInt32LE(1, 64); // PT_LOAD
    b.writeUInt32LE(5, 68); // R+X
    b.writeBigUInt64LE(0x1000n, 64 + 32);
    b.writeBigUInt64LE(0x1000n, 64 + 40);
    patch?.(b);
    return b;
  };

  it('reads well-formed AArch64 and x86-64 headers, and node binary', () => {
    expect(elfCodeArchAt(header(183), 0)).toBe('aarch64');
    expect(elfCodeArchAt(header(62), 0)).toBe('x86-64');
    expect(elfCodeArchAt(elfChunk(4096, 0), 0)).toBe(process.arch === 'arm64' ? 'aarch64' : 'x86-64');
  });

  it('refuses forged or foreign headers without throwing', () => {
    const forged: [string, Buffer][] = [
      ['ARM32', header(40)],
      ['ELF32', header(183, (b) => (b[4] = 1))],
      ['big-endian', header(183, (b) => (b[5] = 2))],
      ['phdrs past the data', header(183, (b) => b.writeBigUInt64LE(2n ** 63n, 32))],
      ['65535 phdrs', header(183, (b) => b.writeUInt16LE(65535, 56))],
      ['odd phentsize', header(183, (b) => b.writeUInt16LE(32, 54))],
      ['filesz > memsz', header(183, (b) => b.writeBigUInt64LE(0x2000n, 64 + 32))],
      ['no executable segment', header(183, (b) => b.writeUInt32LE(4, 68))],
      ['truncated', header(183).subarray(0, 40)],
    ];
    for (const [label, b] of forged) expect(elfCodeArchAt(b, 0), label).toBeUndefined();
    expect(elfCodeArchAt(header(183), -1)).toBeUndefined();
  });

  it('falls back to branch density: code yes, random bytes, text and zeros no', () => {
    expect(chunkCodeArch(Buffer.alloc(0), aarch64Code(3, 1 << 16))).toBe('aarch64');
    expect(chunkCodeArch(Buffer.alloc(0), elfChunk(1 << 20))).toBe(process.arch === 'arm64' ? 'aarch64' : 'x86-64');
    expect(chunkCodeArch(Buffer.alloc(0), randomBytes(1 << 20, 5))).toBeUndefined();
    expect(chunkCodeArch(Buffer.alloc(0), textLike(1 << 20, 6))).toBeUndefined();
    expect(chunkCodeArch(Buffer.alloc(0), Buffer.alloc(1 << 20))).toBeUndefined();
    // A header in the source decides when the target has none.
    expect(chunkCodeArch(Buffer.concat([Buffer.alloc(4096), header(62)]), textLike(1 << 16, 7))).toBe('x86-64');
    expect(differ.applies(Buffer.alloc(0), randomBytes(1 << 18, 8))).toBe(false);
  });
});

describe('exec-aware differ', () => {
  it('round-trips moved AArch64 code, smaller than bsdiff-lzma alone', async () => {
    const old = aarch64Code(11, 1 << 16);
    const moved = aarch64Code(11, 1 << 16, 300, 1000);
    const patch = await differ.diff(old, moved);
    expect(readExecAwareArch(patch)).toBe('aarch64');
    expect((await patcher.patch(old, patch, moved.length)).equals(moved)).toBe(true);
    const plain = await new BsdiffLzmaDiffer().diff(old, moved);
    expect(patch.length).toBeLessThan(plain.length * 0.8);
  });

  it('round-trips seeded random edits of real and random bytes (fast-check)', async () => {
    const base = elfChunk(64 * 1024);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(base.length - 1), bytes: fc.uint8Array({ maxLength: 64 }) }), {
          maxLength: 6,
        }),
        fc.boolean(),
        async (edits, insert) => {
          let target = Buffer.from(base);
          for (const e of edits) {
            target = insert
              ? Buffer.concat([target.subarray(0, e.at), e.bytes, target.subarray(e.at)])
              : Buffer.concat([target.subarray(0, e.at), e.bytes, target.subarray(e.at + e.bytes.length)]);
          }
          const patch = await differ.diff(base, target);
          expect((await patcher.patch(base, patch, target.length)).equals(target)).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('refuses hostile patches with BLOB_DECODE_FAILED', async () => {
    const old = aarch64Code(12, 4096);
    const target = aarch64Code(12, 4096, 10, 100);
    const patch = await differ.diff(old, target);
    const need = execAwareApplyBytes(old.length, target.length);
    const arch = (id: number) => Buffer.concat([patch.subarray(0, 8), Buffer.from([id]), patch.subarray(9)]);
    await expectBlobError(patcher.patch(old, arch(0), target.length));
    await expectBlobError(patcher.patch(old, arch(3), target.length));
    await expectBlobError(
      patcher.patch(old, Buffer.concat([Buffer.from('EXECDIFX'), patch.subarray(8)]), target.length),
    );
    await expectBlobError(patcher.patch(old, patch, target.length + 1));
    await expectBlobError(patcher.patch(old, patch, target.length, need - 1));
    for (const cut of [0, 8, 9, 20, patch.length - 1])
      await expectBlobError(patcher.patch(old, patch.subarray(0, cut), target.length));
    expect((await patcher.patch(old, patch, target.length, need)).equals(target)).toBe(true);
  });
});
