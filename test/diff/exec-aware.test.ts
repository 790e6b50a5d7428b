// The exec-aware differ (id 6): regions come from control tuples as FORMAT.md §4 says; the
// reference adjustment moves the AArch64 and x86-64 references it names and writes only inside
// its region on any bytes (fast-check); the ELF scan takes well-formed AArch64/x86-64 headers only
// and falls back to branch density; moved AArch64 code diffs smaller than with bsdiff-lzma alone;
// seeded edits round-trip, also in lent buffers of garbage (PatchBuffers: each use once, the result
// the lent output); hostile patches (bad magic, arch or runs, lying sizes, an inner control block
// past its cap, memory under the need, truncation) fail with BLOB_DECODE_FAILED.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { STORED_BLOCK } from '../../src/diff/bsdiff-lzma-patch.js';
import { writeOfft } from '../../src/diff/bsdiff-patch.js';
import { chunkCodeArch, elfCodeArchAt } from '../../src/diff/elf-code-scan.js';
import { ExecAwareDiffer } from '../../src/diff/exec-aware-differ.js';
import {
  execAwareApplyBytes,
  execAwarePatchBytes,
  hasLabelTable,
  readExecAwareArch,
  readExecAwareHeader,
} from '../../src/diff/exec-aware-patch.js';
import { encodeLabelMap, labelShift } from '../../src/diff/label-map.js';
import { ExecAwarePatcher } from '../../src/diff/exec-aware-patcher.js';
import type { PatchBufferUse } from '../../src/diff/patcher.js';
import { pairMemo } from '../../src/diff/pair-memo.js';
import { adjustRegion, regionsFromControl, type AdjustRegions } from '../../src/diff/reference-adjust.js';
import { encodeSparseDiff } from '../../src/diff/sparse-diff.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { elfChunk, prng, randomBytes, textLike, x86CallCode } from '../codecs/sample-data.js';
import { GarbageBuffers } from '../helpers/garbage-buffers.js';

const differ = new ExecAwareDiffer();
const patcher = new ExecAwarePatcher();
const varint = (value: number): number[] => {
  const out: number[] = [];
  let v = value;
  for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
  return [...out, v];
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

describe('reference adjustment', () => {
  const regionsOf = (...rs: [number, number, number][]): AdjustRegions => ({
    oldStart: Float64Array.from(rs, (r) => r[0]),
    newStart: Float64Array.from(rs, (r) => r[1]),
    lengthBytes: Float64Array.from(rs, (r) => r[2]),
  });
  const tuple = (add: number, copy: number, seek: number) => {
    const b = Buffer.alloc(24);
    writeOfft(b, 0, add);
    writeOfft(b, 8, copy);
    writeOfft(b, 16, seek);
    return b;
  };

  it('derives regions from control tuples: inside the source, sorted, clipped, >= 16 bytes (FORMAT.md §4)', () => {
    const ctrl = Buffer.concat([
      tuple(100, 5, 900), // old 0..100 -> new 0
      tuple(50, 0, -1000), // old 1000..1050 -> new 105
      tuple(80, 0, 0), // old 50..130 -> new 155: clipped to old 100..130 -> new 205
      tuple(10, 0, 5000), // too short
      tuple(40, 0, 0), // old 5140..5180: past a 5150-byte source
    ]);
    const r = regionsFromControl(ctrl, 5150);
    expect(Array.from(r.oldStart)).toEqual([0, 100, 1000]);
    expect(Array.from(r.newStart)).toEqual([0, 205, 105]);
    expect(Array.from(r.lengthBytes)).toEqual([100, 30, 50]);
    // A clip leaving under 16 bytes drops the run.
    expect(
      Array.from(regionsFromControl(Buffer.concat([tuple(100, 0, -90), tuple(100, 0, 0)]), 1000).oldStart),
    ).toEqual([0]);
  });

  it('moves AArch64 branches, literal loads, ADR and ADRP+lo12 to where their targets went', () => {
    // Region 0 (old 0..8192) stays; region 1 (old 8192..16384) moved up by 4096 + 16 bytes.
    const regions = regionsOf([0, 0, 8192], [8192, 8192 + 4112, 8192]);
    const src = Buffer.alloc(16384);
    const target = 8192 + 64; // a moved "function" -> 12368
    const put = (at: number, w: number) => src.writeUInt32LE(w >>> 0, at);
    put(0, 0x94000000 | (target / 4)); // BL
    put(4, 0x54000000 | (((target - 4) / 4) << 5) | 1); // B.NE
    put(8, 0xb4000000 | (((target - 8) / 4) << 5) | 3); // CBZ x3
    put(12, 0x58000000 | (((target - 12) / 4) << 5) | 4); // LDR x4, literal
    put(16, 0x10000000 | (((target - 16) & 3) << 29) | (((target - 16) >> 2) << 5) | 5); // ADR x5
    put(20, 0x90000000 | (2 << 29) | 6); // ADRP x6, +2 pages (8192)
    put(24, 0x91000000 | (64 << 10) | (6 << 5) | 6); // ADD x6, x6, #64
    put(28, 0x94000000 | 4); // BL to 44, which did not move: left alone
    put(32, 0x94000000 | 0x10000); // BL to 256 KiB: in no region, left alone
    put(8192 + 4, 0x37000000 | ((((0 - 8196) / 4) & 0x3fff) << 5)); // TBNZ w0, #0 back to 0: region 1 -> region 0
    const out = Buffer.from(src);
    for (let r = 0; r < 2; r++) adjustRegion(src, out, regions, r, 'aarch64');
    const moved = target + 4112;
    const get = (at: number) => out.readUInt32LE(at);
    expect(get(0)).toBe((0x94000000 | (moved / 4)) >>> 0);
    expect(get(4)).toBe((0x54000000 | (((moved - 4) / 4) << 5) | 1) >>> 0);
    expect(get(8)).toBe((0xb4000000 | (((moved - 8) / 4) << 5) | 3) >>> 0);
    expect(get(12)).toBe((0x58000000 | (((moved - 12) / 4) << 5) | 4) >>> 0);
    expect(get(16)).toBe((0x10000000 | (((moved - 16) & 3) << 29) | (((moved - 16) >> 2) << 5) | 5) >>> 0);
    expect(get(20)).toBe((0x90000000 | (3 << 29) | 6) >>> 0); // page 3 (12288)
    expect(get(24)).toBe((0x91000000 | (80 << 10) | (6 << 5) | 6) >>> 0); // + 80 = 12368
    expect(get(28)).toBe(src.readUInt32LE(28));
    expect(get(32)).toBe(src.readUInt32LE(32));
    // The TBNZ moved with its region, its target did not: the offset grows by the move.
    expect(get(8192 + 4)).toBe((0x37000000 | ((((0 - 8196 - 4112) / 4) & 0x3fff) << 5)) >>> 0);
    expect(out.subarray(36, 8192).equals(src.subarray(36, 8192))).toBe(true);
  });

  it('moves x86-64 call/jmp/jcc rel32 and skips their operands', () => {
    const regions = regionsOf([0, 0, 100], [100, 132, 100]);
    const src = Buffer.alloc(200, 0x90);
    src[0] = 0xe8;
    src.writeInt32LE(150 - 5, 1); // call 150 -> 182
    src[5] = 0x0f;
    src[6] = 0x85;
    src.writeInt32LE(120 - 11, 7); // jne 120 -> 152
    src[11] = 0xe9;
    src.writeInt32LE(20 - 16, 12); // jmp 20: same region, unchanged
    const out = Buffer.from(src);
    adjustRegion(src, out, regions, 0, 'x86-64');
    expect(out.readInt32LE(1)).toBe(182 - 5);
    expect(out.readInt32LE(7)).toBe(152 - 11);
    expect(out.readInt32LE(12)).toBe(4);
  });

  it('moves x86-64 RIP-relative disp32 operands, counting an immediate after the disp', () => {
    const regions = regionsOf([0, 0, 100], [100, 132, 100]);
    const src = Buffer.alloc(200, 0x90);
    const put = (at: number, bytes: number[], target: number, immBytes: number): number => {
      src.set(bytes, at);
      const disp = at + bytes.length;
      src.writeInt32LE(target - (disp + 4 + immBytes), disp);
      return disp;
    };
    const mov = put(0, [0x48, 0x8b, 0x05], 150, 0); // mov rax, [rip + d] -> 150 moves to 182
    const lea = put(7, [0x48, 0x8d, 0x3d], 120, 0); // lea rdi, [rip + d] -> 152
    const call = put(14, [0xff, 0x15], 160, 0); // call [rip + d] -> 192
    const cmp = put(20, [0x48, 0x83, 0x3d], 110, 1); // cmp qword [rip + d], imm8 -> 142
    src[cmp + 4] = 0x07;
    const movImm = put(28, [0xc7, 0x05], 130, 4); // mov dword [rip + d], imm32 -> 162
    const movImm16 = put(38, [0x66, 0xc7, 0x05], 140, 2); // mov word [rip + d], imm16 -> 172
    const sse = put(47, [0xf2, 0x0f, 0x10, 0x05], 170, 0); // movsd xmm0, [rip + d] -> 202
    const test = put(55, [0xf6, 0x05], 180, 1); // test byte [rip + d], imm8 -> 212
    const local = put(62, [0x8b, 0x0d], 10, 0); // mov ecx, [rip + d] -> 10: same region, unchanged
    const rbp = put(68, [0x8b, 0x45], 150, 0); // mov eax, [rbp + d8]: not RIP-relative, left as is
    const out = Buffer.from(src);
    adjustRegion(src, out, regions, 0, 'x86-64');
    expect(out.readInt32LE(mov)).toBe(182 - (mov + 4));
    expect(out.readInt32LE(lea)).toBe(152 - (lea + 4));
    expect(out.readInt32LE(call)).toBe(192 - (call + 4));
    expect(out.readInt32LE(cmp)).toBe(142 - (cmp + 5));
    expect(out[cmp + 4]).toBe(0x07);
    expect(out.readInt32LE(movImm)).toBe(162 - (movImm + 8));
    expect(out.readInt32LE(movImm16)).toBe(172 - (movImm16 + 6));
    expect(out.readInt32LE(sse)).toBe(202 - (sse + 4));
    expect(out.readInt32LE(test)).toBe(212 - (test + 5));
    expect(out.readInt32LE(local)).toBe(10 - (local + 4));
    expect(out.readInt32LE(rbp)).toBe(src.readInt32LE(rbp));
  });

  it('is total on any bytes and any regions: writes only inside the region (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 2048 }),
        fc.array(
          fc.tuple(fc.nat(4096), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 16, max: 512 })),
          {
            maxLength: 6,
          },
        ),
        fc.constantFrom('aarch64', 'x86-64'),
        (bytes, raw, arch) => {
          const rs = raw
            .map(([s, d, l]): [number, number, number] => [s % bytes.length, (s % bytes.length) + d, l])
            .filter(([s, , l]) => s + l <= bytes.length)
            .sort((a, b) => a[0] - b[0]);
          const disjoint = rs.filter((r, i) => i === 0 || r[0] >= rs[i - 1]![0] + rs[i - 1]![2]);
          const regions = regionsOf(...disjoint);
          const out = Buffer.from(bytes);
          for (let r = 0; r < disjoint.length; r++) {
            const before = Buffer.from(out);
            adjustRegion(bytes, out, regions, r, arch as 'aarch64' | 'x86-64');
            const [s, , l] = disjoint[r]!;
            expect(out.subarray(0, s).equals(before.subarray(0, s))).toBe(true);
            expect(out.subarray(s + l).equals(before.subarray(s + l))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
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

  it('works in lent buffers of any contents, reused from patch to patch, and leaves the source as it was', async () => {
    const pairs = [
      [aarch64Code(11, 1 << 14), aarch64Code(11, 1 << 14, 30, 1000)],
      [x86CallCode(21, 8_000), x86CallCode(21, 8_000, 4_000, 37, 0x3000)],
    ] as const;
    const lender = new GarbageBuffers();
    const asked = new Set<PatchBufferUse>();
    for (const [old, moved] of [...pairs, ...pairs]) {
      const patch = await differ.diff(old, moved);
      const takes = await lender.check(old, moved, (buffers) =>
        patcher.patch(old, patch, moved.length, undefined, buffers),
      );
      for (const use of takes) asked.add(use);
    }
    expect([...asked].sort()).toEqual(['control', 'diff', 'extra', 'output', 'work']);
  });

  it('carries a label table for calls into functions outside the source that all moved, and round-trips', async () => {
    const old = x86CallCode(21, 40_000);
    const moved = x86CallCode(21, 40_000, 20_000, 37, 0x3000);
    const patch = await differ.diff(old, moved);
    expect(readExecAwareArch(patch)).toBe('x86-64');
    expect(hasLabelTable(patch)).toBe(true);
    expect(differ.patchFormatMinor(patch)).toBe(5);
    const { labels } = readExecAwareHeader(patch, Infinity, Infinity);
    // The moved functions lie before the source, and one interval moves them all by 0x3000.
    expect(labelShift(labels, -65_536 - 256 * 20)).toBe(0x3000);
    expect(labels.start.length).toBeLessThanOrEqual(2);
    const need = execAwarePatchBytes(patch, old.length, moved.length);
    expect(need).toBe(execAwareApplyBytes(old.length, moved.length) + 24 * labels.start.length);
    expect(differ.patchDecoderMemoryBytes(patch, old.length, moved.length)).toBe(need);
    expect((await patcher.patch(old, patch, moved.length, need)).equals(moved)).toBe(true);
    // Without the table every call's operand differs: several times the bytes.
    const plain = await new BsdiffLzmaDiffer().diff(old, moved);
    expect(patch.length * 3).toBeLessThan(plain.length);
    // Hostile: memory for one interval fewer, the flag cleared (the table read as the inner
    // patch), a cut inside the table, and an interval count past any output's.
    await expectBlobError(patcher.patch(old, patch, moved.length, need - 1));
    const flagOff = Buffer.from(patch);
    flagOff[8] = flagOff[8]! & 0x7f;
    await expectBlobError(patcher.patch(old, flagOff, moved.length));
    const { innerOffset } = readExecAwareHeader(patch, Infinity, Infinity);
    await expectBlobError(patcher.patch(old, patch.subarray(0, innerOffset - 1), moved.length));
    const runsEnd = innerOffset - encodeLabelMap(labels).length;
    const hugeCount = Buffer.concat([
      patch.subarray(0, runsEnd),
      Buffer.from(varint(2 ** 40)),
      patch.subarray(runsEnd),
    ]);
    await expectBlobError(patcher.patch(old, hugeCount, moved.length));
  });

  it('votes a label table from AArch64 BL, B.cond, CBZ, TBZ, LDR-literal and ADR whose targets moved outside the source', async () => {
    // Words calling or loading 40 "functions" 64-80 KiB before the buffer; the new version has
    // 16 NOPs inserted halfway and the functions 0x2000 bytes further on.
    const code = (edit: boolean): Buffer => {
      const next = prng(31);
      const out: number[] = [];
      for (let k = 0; k < 30_000; k++) {
        if (edit && k === 15_000) for (let i = 0; i < 16; i++) out.push(0xd503201f);
        const target = -65_536 - 4 * 100 * Math.floor(next() * 40) + (edit ? 0x2000 : 0);
        const rel = (target - 4 * out.length) / 4;
        const kind = Math.floor(next() * 8);
        if (kind === 0)
          out.push((0x94000000 | (rel & 0x03ffffff)) >>> 0); // BL
        else if (kind === 1)
          out.push((0x54000000 | ((rel & 0x7ffff) << 5) | 1) >>> 0); // B.NE
        else if (kind === 2)
          out.push((0xb4000000 | ((rel & 0x7ffff) << 5) | 3) >>> 0); // CBZ x3
        else if (kind === 3)
          out.push((0x58000000 | ((rel & 0x7ffff) << 5) | 4) >>> 0); // LDR x4, literal
        else if (kind === 4) {
          const imm = target - 4 * out.length; // ADR x5
          out.push((0x10000000 | ((imm & 3) << 29) | (((imm >>> 2) & 0x7ffff) << 5) | 5) >>> 0);
        } else out.push((0xd2800000 | (Math.floor(next() * 0xffff) << 5) | Math.floor(next() * 32)) >>> 0);
      }
      const buf = Buffer.alloc(out.length * 4);
      out.forEach((w, i) => buf.writeUInt32LE(w, i * 4));
      return buf;
    };
    const old = code(false);
    const moved = code(true);
    const patch = await differ.diff(old, moved);
    expect(readExecAwareArch(patch)).toBe('aarch64');
    expect(hasLabelTable(patch)).toBe(true);
    const { labels } = readExecAwareHeader(patch, Infinity, Infinity);
    expect(labelShift(labels, -65_536 - 400 * 7)).toBe(0x2000);
    expect((await patcher.patch(old, patch, moved.length)).equals(moved)).toBe(true);
    // A target that reads format 1.4 at most gets the same differ without the table.
    const older = await differ.diff(old, moved, { maxFormatMinor: 4 });
    expect(hasLabelTable(older)).toBe(false);
    expect((await patcher.patch(old, older, moved.length)).equals(moved)).toBe(true);
    expect(patch.length * 2).toBeLessThan(older.length);
  });

  it('writes no label table where no reference leaves the regions (format 1.2 patches stay as they were)', async () => {
    const old = aarch64Code(11, 1 << 14);
    const patch = await differ.diff(old, aarch64Code(11, 1 << 14, 30, 100));
    expect(hasLabelTable(patch)).toBe(false);
    expect(differ.patchFormatMinor(patch)).toBe(0);
  });

  it('makes the same patch whether or not bsdiff-lzma packed the pair first (shared control and extra blocks)', async () => {
    const old = aarch64Code(12, 1 << 15);
    const moved = aarch64Code(12, 1 << 15, 200, 500);
    const after = await (async () => {
      await new BsdiffLzmaDiffer().diff(old, moved);
      return differ.diff(old, moved);
    })();
    // Two other pairs push this one out of the thread's memo: the next patch is made from scratch.
    for (const seed of [13, 14]) await differ.diff(aarch64Code(seed, 1 << 12), aarch64Code(seed, 1 << 12, 7, 9));
    const alone = await differ.diff(Buffer.from(old), Buffer.from(moved));
    expect(after.equals(alone)).toBe(true);
    expect((await patcher.patch(old, after, moved.length)).equals(moved)).toBe(true);
  });

  it("where no adjustment changes the diff block, it takes bsdiff-lzma's packed sparse diff from the pair's memo", async () => {
    const old = aarch64Code(15, 1 << 14);
    const edited = Buffer.from(old);
    // Nothing moves: every 4th of 2000 words changes in place, so every reference stays put (and
    // the sparse diff is long enough for LZMA2 to beat storing it).
    for (let word = 1000; word < 9000; word += 4) edited.writeUInt32LE(0xd2800063, word * 4);
    const plain = await new BsdiffLzmaDiffer().diff(old, edited);
    // A stand-in in the memo: the same sparse diff stored, not LZMA2-coded. A patch that holds it
    // took the shared block; one packed anew would hold the LZMA2 form.
    const slot = pairMemo.resultsOf(old, edited)!;
    const sparse = encodeSparseDiff(slot.streams!.diff);
    slot.packedSparse = Promise.resolve({ dictLog: STORED_BLOCK, decodedBytes: sparse.length, bytes: sparse });
    const shared = await differ.diff(old, edited);
    expect(shared.includes(sparse)).toBe(true);
    expect((await patcher.patch(old, shared, edited.length)).equals(edited)).toBe(true);
    // Made from scratch (two other pairs push this one out of the thread's memo): bsdiff-lzma's
    // patch whole, as its inner patch.
    for (const seed of [16, 17]) await differ.diff(aarch64Code(seed, 1 << 12), aarch64Code(seed, 1 << 12, 7, 9));
    const alone = await differ.diff(Buffer.from(old), Buffer.from(edited));
    expect(alone.subarray(alone.length - plain.length).equals(plain)).toBe(true);
    expect(alone.includes(sparse)).toBe(false);
    expect((await patcher.patch(old, alone, edited.length)).equals(edited)).toBe(true);
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
    const need = execAwarePatchBytes(patch, old.length, target.length);
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
    // Runs past the regions the control block has, a run count past any output's, a bad inner patch.
    const { innerOffset } = readExecAwareHeader(patch, Infinity, Infinity);
    const inner = patch.subarray(innerOffset);
    const withRuns = (runs: Buffer) => Buffer.concat([patch.subarray(0, 9), runs, inner]);
    await expectBlobError(patcher.patch(old, withRuns(Buffer.from([2, 0, 0xff, 0xff, 0x03])), target.length));
    await expectBlobError(patcher.patch(old, withRuns(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), target.length));
    await expectBlobError(
      patcher.patch(
        old,
        Buffer.concat([patch.subarray(0, innerOffset), Buffer.from('BSDIFF40'), inner.subarray(8)]),
        target.length,
      ),
    );
    // An inner control block declaring 2^40 decoded bytes: refused before any allocation.
    const huge = Buffer.from([
      ...Buffer.from('BSDIFFLZ'),
      ...varint(target.length),
      0,
      ...varint(2 ** 40),
      ...varint(2 ** 40),
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    await expectBlobError(patcher.patch(old, Buffer.concat([patch.subarray(0, innerOffset), huge]), target.length));
  });

  it('round-trips seeded edits of AArch64 code with moved functions (fast-check)', async () => {
    const base = aarch64Code(21, 1 << 14);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat((1 << 14) - 1), words: fc.nat(64), cut: fc.nat(64) }), { maxLength: 5 }),
        async (edits) => {
          let target = Buffer.from(base);
          for (const e of edits) {
            const at = Math.min(e.at, target.length / 4) * 4;
            const nops = Buffer.alloc(e.words * 4);
            for (let k = 0; k < e.words; k++) nops.writeUInt32LE(0xd503201f, 4 * k);
            target = Buffer.concat([target.subarray(0, at), nops, target.subarray(at + e.cut * 4)]);
          }
          const patch = await differ.diff(base, target);
          expect((await patcher.patch(base, patch, target.length)).equals(target)).toBe(true);
        },
      ),
      { numRuns: 10 },
    );
  });
});
