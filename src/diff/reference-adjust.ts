// The exec-aware differ's reference adjustment (Courgette-style "adjust then diff", FORMAT.md §4):
// the bsdiff control tuples say which source bytes became which destination bytes (regions);
// inside a chosen region every relative reference of the source (AArch64 branches, literal loads,
// ADR, ADRP with its lo12 partner; x86-64 call/jmp/jcc rel32 and RIP-relative disp32 operands)
// is rewritten to reach where its target went, so it reads as the new code's does. A target no
// region holds goes through the patch's label table when it has one (label-map.ts); the build
// side votes that table from the destination's references (labelMapFor).
// Pure; reads the source, writes a copy; work is linear in the source (one binary search a word).

import { CTRL_TUPLE_BYTES, readOfft } from './bsdiff-patch.js';
import { labelShift, lastStartAtOrBefore, LabelVotes, type LabelMap } from './label-map.js';

/** Code architectures the adjustment knows (the patch's arch byte). */
export const ReferenceArch = { aarch64: 1, 'x86-64': 2 } as const;
/** An arch name. */
export type ReferenceArchName = keyof typeof ReferenceArch;

/** Add runs shorter than this are not regions (too short to hold a moved reference worth it). */
export const MIN_REGION_BYTES = 16;
/** ADRP's lo12 partner (ADD / load / store with the ADRP's register as base) is looked for this many words on. */
const ADRP_PAIR_WORDS = 4;

/** Source ranges and where their bytes went: sorted by `oldStart`, disjoint in the source. */
export interface AdjustRegions {
  readonly oldStart: Float64Array;
  readonly newStart: Float64Array;
  readonly lengthBytes: Float64Array;
}

/**
 * The regions of a control block over a `sourceBytes`-byte source: each tuple's add run
 * [oldPos, oldPos + x) of at least MIN_REGION_BYTES inside the source, sorted by old start (ties:
 * longer first, then smaller new start), then clipped so none overlaps an earlier kept one
 * (a clipped run shorter than MIN_REGION_BYTES is dropped). Throws on an out-of-range number.
 */
export function regionsFromControl(ctrl: Uint8Array, sourceBytes: number): AdjustRegions {
  // Typed arrays throughout: a hostile control block may hold millions of tuples.
  const tuples = Math.floor(ctrl.length / CTRL_TUPLE_BYTES);
  const from = new Float64Array(tuples);
  const to = new Float64Array(tuples);
  const size = new Float64Array(tuples);
  let count = 0;
  let oldPos = 0;
  let newPos = 0;
  for (let at = 0; at + CTRL_TUPLE_BYTES <= ctrl.length; at += CTRL_TUPLE_BYTES) {
    const add = readOfft(ctrl, at, 'control add length');
    const copy = readOfft(ctrl, at + 8, 'control copy length');
    const seek = readOfft(ctrl, at + 16, 'control seek');
    if (add >= MIN_REGION_BYTES && oldPos >= 0 && oldPos + add <= sourceBytes) {
      from[count] = oldPos;
      to[count] = newPos;
      size[count++] = add;
    }
    newPos += add + copy;
    oldPos += add + seek;
  }
  const order = new Uint32Array(count).map((_, i) => i);
  order.sort((a, b) => from[a]! - from[b]! || size[b]! - size[a]! || to[a]! - to[b]!);
  let kept = 0;
  let end = 0;
  const out = {
    oldStart: new Float64Array(count),
    newStart: new Float64Array(count),
    lengthBytes: new Float64Array(count),
  };
  for (const i of order) {
    const start = from[i]!;
    const cut = Math.max(0, end - start);
    if (size[i]! - cut < MIN_REGION_BYTES) continue;
    out.oldStart[kept] = start + cut;
    out.newStart[kept] = to[i]! + cut;
    out.lengthBytes[kept++] = size[i]! - cut;
    end = start + size[i]!;
  }
  return {
    oldStart: out.oldStart.subarray(0, kept),
    newStart: out.newStart.subarray(0, kept),
    lengthBytes: out.lengthBytes.subarray(0, kept),
  };
}

/**
 * Where source position `t` went: through the region holding it, else by the label table's
 * interval holding it (when given), else undefined.
 */
function mapTarget(regions: AdjustRegions, t: number, labels?: LabelMap): number | undefined {
  const to = throughRegion(regions, t);
  if (to !== undefined || labels === undefined) return to;
  const shift = labelShift(labels, t);
  return shift === undefined ? undefined : t + shift;
}

/** Where source position `t` went through the region holding it, or undefined. */
function throughRegion(regions: AdjustRegions, t: number): number | undefined {
  const found = lastStartAtOrBefore(regions.oldStart, t);
  if (found < 0) return undefined;
  const start = regions.oldStart[found] as number;
  return t < start + (regions.lengthBytes[found] as number)
    ? t - start + (regions.newStart[found] as number)
    : undefined;
}

/** AArch64 PC-relative immediate fields: [field shift, field bits, byte scale]; shared, not allocated per word. */
const IMM26: readonly [number, number, number] = [0, 26, 4];
const IMM19: readonly [number, number, number] = [5, 19, 4];
const IMM14: readonly [number, number, number] = [5, 14, 4];

/** [field shift, field bits, byte scale] of an AArch64 word's PC-relative immediate, or undefined. */
function aarch64Field(w: number): readonly [number, number, number] | undefined {
  if ((w & 0x7c000000) === 0x14000000) return IMM26; // B, BL
  if ((w & 0xff000010) >>> 0 === 0x54000000) return IMM19; // B.cond
  if ((w & 0x7e000000) === 0x34000000) return IMM19; // CBZ, CBNZ
  if ((w & 0x7e000000) === 0x36000000) return IMM14; // TBZ, TBNZ
  if ((w & 0x3b000000) === 0x18000000) return IMM19; // LDR (literal), LDRSW, PRFM
  return undefined;
}

const signed = (value: number, bits: number): number => (value << (32 - bits)) >> (32 - bits);
/** Whether `value` fits a signed field of `bits` (≤ 26, the AArch64 fields): shifts, not powers, in the per-word loop. */
const fitsField = (value: number, bits: number): boolean => value >= -(1 << (bits - 1)) && value < 1 << (bits - 1);
/** ADR/ADRP's 21-bit immediate, sign-extended. */
const adrImm = (w: number): number => signed(((w >>> 29) & 3) | ((w >>> 3) & 0x1ffffc), 21);
const withAdrImm = (w: number, imm: number): number =>
  ((w & 0x9f00001f) | ((imm & 3) << 29) | (((imm >>> 2) & 0x7ffff) << 5)) >>> 0;

/**
 * One region's adjustment: the source (read), the copy written, the maps a target goes through,
 * and the region source[start, end), moved by `delta`.
 */
interface RegionWork {
  readonly src: DataView;
  readonly out: DataView;
  readonly regions: AdjustRegions;
  readonly labels: LabelMap | undefined;
  readonly start: number;
  readonly end: number;
  readonly delta: number;
}

/**
 * Where source position `t` went, for a reference inside region [start, end) moved by `delta`:
 * most targets lie in that same region (no search then: regions are disjoint, so it is the one
 * mapTarget would find), the others through mapTarget.
 */
function mapFrom(work: RegionWork, t: number): number | undefined {
  return t >= work.start && t < work.end ? t + work.delta : mapTarget(work.regions, t, work.labels);
}

/** AArch64: rewrites the references of the region into the copy. */
function adjustAarch64(work: RegionWork): void {
  const { src, out, end, delta } = work;
  for (let p = Math.ceil(work.start / 4) * 4; p + 4 <= end; p += 4) {
    const w = src.getUint32(p, true);
    const field = aarch64Field(w);
    if (field !== undefined) {
      const shift = field[0];
      const bits = field[1];
      const scale = field[2];
      const mask = (1 << bits) - 1;
      const to = mapFrom(work, p + signed((w >>> shift) & mask, bits) * scale);
      if (to === undefined) continue;
      const rel = (to - (p + delta)) / scale;
      if (Number.isInteger(rel) && fitsField(rel, bits))
        out.setUint32(p, ((w & ~(mask << shift)) | ((rel & mask) << shift)) >>> 0, true);
    } else if ((w & 0x9f000000) >>> 0 === 0x10000000) {
      const to = mapFrom(work, p + adrImm(w)); // ADR
      if (to !== undefined && fitsField(to - (p + delta), 21)) out.setUint32(p, withAdrImm(w, to - (p + delta)), true);
    } else if ((w & 0x9f000000) >>> 0 === 0x90000000) {
      adjustAdrp(work, p, w);
    }
  }
}

/** ADRP at `p` and, when found, its lo12 partner: both rewritten to the moved full target. */
function adjustAdrp(work: RegionWork, p: number, w: number): void {
  const { src, out, end, delta } = work;
  const rd = w & 31;
  let q = -1;
  let scaleLog = 0;
  let lo = 0;
  for (let k = 1; k <= ADRP_PAIR_WORDS && p + 4 * k + 4 <= end; k++) {
    const u = src.getUint32(p + 4 * k, true);
    if ((u & 0x9f000000) >>> 0 === 0x90000000) break;
    if (((u >>> 5) & 31) !== rd) continue;
    if ((u & 0xffc00000) >>> 0 === 0x91000000)
      scaleLog = 0; // ADD (immediate), 64-bit, no shift
    else if ((u & 0x3b000000) === 0x39000000)
      scaleLog = (u & 0x04800000) === 0x04800000 ? 4 : u >>> 30; // LDR/STR (unsigned offset)
    else continue;
    q = p + 4 * k;
    lo = ((u >>> 10) & 0xfff) * 2 ** scaleLog;
    break;
  }
  const to = mapFrom(work, Math.floor(p / 4096) * 4096 + adrImm(w) * 4096 + lo);
  if (to === undefined) return;
  const pages = Math.floor(to / 4096) - Math.floor((p + delta) / 4096);
  const newLo = to - Math.floor(to / 4096) * 4096;
  if (!fitsField(pages, 21) || newLo % (1 << scaleLog) !== 0) return;
  out.setUint32(p, withAdrImm(w, pages), true);
  if (q >= 0) {
    const u = src.getUint32(q, true);
    out.setUint32(q, ((u & 0xffc003ff) | ((newLo / 2 ** scaleLog) << 10)) >>> 0, true);
  }
}

/** Immediate bytes after a RIP-relative disp32 by opcode (-1: not a listed opcode); one-byte opcodes. */
const X86_ONE_BYTE = opcodeTable([
  [0, '01 03 09 0B 11 13 19 1B 21 23 29 2B 31 33 39 3B 63 84 85 86 87 88 89 8A 8B 8D 8F D0 D1 D3 FE FF'],
  [1, '6B 80 83 C0 C1 C6'],
  [4, '69 81 C7'],
]);
/** The same for two-byte opcodes `0F xx`. */
const X86_TWO_BYTE = opcodeTable([
  [0, '10 11 12 13 14 15 16 17 18 1F 28 29 2A 2B 2C 2D 2E 2F 40 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F'],
  [0, '51 54 55 56 57 58 59 5A 5B 5C 5D 5E 5F 60 61 62 66 6C 6D 6E 6F 7E 7F AF B6 B7 BE BF D4 D6 DB DF EB EF FA FB FE'],
  [1, '70 BA C2 C6'],
]);

/** 1 for the bytes that open a rel32 reference by themselves or with the next byte: E8, E9, 0F. */
const X86_OPENS = Uint8Array.from({ length: 256 }, (_, b) => (b === 0xe8 || b === 0xe9 || b === 0x0f ? 1 : 0));
/** 1 for the ModRM bytes of a [rip + disp32] operand (mod 00, rm 101). */
const X86_RIP_MODRM = Uint8Array.from({ length: 256 }, (_, b) => ((b & 0xc7) === 0x05 ? 1 : 0));

function opcodeTable(rows: readonly (readonly [number, string])[]): Int8Array {
  const table = new Int8Array(256).fill(-1);
  for (const [immBytes, ops] of rows) for (const op of ops.split(' ')) table[parseInt(op, 16)] = immBytes;
  return table;
}

/**
 * The x86-64 reference starting at byte `p` of source[start, end), packed as `at * 8 + imm`
 * (no allocation: this runs for every byte of a code region): the signed 32-bit operand is at
 * `at`, the instruction ends at `at + 4 + imm` (the target is that end + the operand); -1 if none.
 */
function x86Reference(bytes: Uint8Array, p: number, start: number, end: number): number {
  const op = bytes[p]!;
  if (op === 0xe8 || op === 0xe9) return (p + 1) * 8;
  const two = op === 0x0f && p + 1 < end;
  const op2 = two ? bytes[p + 1]! : -1;
  if (two && (op2 & 0xf0) === 0x80) return (p + 2) * 8;
  const modrmAt = two ? p + 2 : p + 1;
  if (modrmAt >= end) return -1;
  const modrm = bytes[modrmAt]!;
  if ((modrm & 0xc7) !== 0x05) return -1; // mod 00, rm 101: [rip + disp32]
  let imm = two ? (X86_TWO_BYTE[op2] as number) : (X86_ONE_BYTE[op] as number);
  if (!two && (op & 0xfe) === 0xf6) imm = (modrm & 0x30) !== 0 ? 0 : op === 0xf6 ? 1 : 4; // TEST imm (reg 0, 1)
  if (imm < 0) return -1;
  const before1 = p - 1 >= start ? bytes[p - 1]! : -1;
  const before2 = p - 2 >= start ? bytes[p - 2]! : -1;
  const size16 = before1 === 0x66 || ((before1 & 0xf8) === 0x40 && before2 === 0x66);
  if (!two && imm === 4 && size16) imm = 2;
  return (modrmAt + 1) * 8 + imm;
}

/** Where the reference nextX86Reference last found starts (a second return value, no allocation). */
let referenceStart = 0;

/**
 * The first x86-64 reference (x86Reference, packed) whose instruction starts at or after byte `p`
 * of bytes[start, end) and whose operand ends inside it, or -1; referenceStart then holds where
 * that instruction starts. A caller that takes the reference scans on from the instruction's end,
 * one that does not from referenceStart + 1 (the bytes may not be an instruction). A plain
 * function on plain arguments, called in a loop (no callback): V8 keeps the scan in registers.
 */
function nextX86Reference(bytes: Uint8Array, p: number, start: number, end: number): number {
  for (; p < end; p++) {
    // Most bytes start no reference: neither E8/E9/0F nor followed by a [rip + disp32] ModRM
    // (x86Reference's first tests, done here without the call, by two table reads: a byte past
    // `end` may pass the second, and x86Reference then refuses it).
    if ((X86_OPENS[bytes[p]!]! | X86_RIP_MODRM[bytes[p + 1] ?? 0]!) === 0) continue;
    const ref = x86Reference(bytes, p, start, end);
    if (ref >= 0 && Math.floor(ref / 8) + 4 <= end) {
      referenceStart = p;
      return ref;
    }
  }
  return -1;
}

/**
 * x86-64: call/jmp rel32 (E8/E9), jcc rel32 (0F 80..8F) and the RIP-relative disp32 of the
 * listed opcodes (x86Reference) in the region (`bytes` is the source as bytes).
 */
function adjustX86(bytes: Uint8Array, work: RegionWork): void {
  const { src, out, start, end, delta } = work;
  for (let p = start; ;) {
    const ref = nextX86Reference(bytes, p, start, end);
    if (ref < 0) return;
    const at = Math.floor(ref / 8);
    const next = at + 4 + (ref % 8);
    const to = mapFrom(work, next + src.getInt32(at, true));
    if (to === undefined) {
      p = referenceStart + 1;
      continue;
    }
    const rel = to - (next + delta);
    if (rel >= -0x80000000 && rel <= 0x7fffffff) out.setInt32(at, rel, true); // fits a rel32
    p = next;
  }
}

/**
 * Rewrites the references inside region `index` of `source` into `out` (a copy of the source
 * of the same length); only bytes inside the region are written.
 */
export function adjustRegion(
  source: Uint8Array,
  out: Uint8Array,
  regions: AdjustRegions,
  index: number,
  arch: ReferenceArchName,
  labels?: LabelMap,
): void {
  const start = regions.oldStart[index] as number;
  const end = start + (regions.lengthBytes[index] as number);
  const delta = (regions.newStart[index] as number) - start;
  const src = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const dst = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const work = { src, out: dst, regions, labels, start, end, delta };
  if (arch === 'aarch64') adjustAarch64(work);
  else adjustX86(source, work);
}

/**
 * The label table for a chunk (build side): every reference in a region whose target no region
 * holds votes for the shift that takes its target to where the destination's reference at the
 * same place points (x86-64 rel32 and disp32; AArch64 B, BL, B.cond, CBZ, TBZ, literal loads and
 * ADR whose destination word is the same instruction), and LabelVotes.build keeps the intervals
 * the votes agree on.
 */
export function labelMapFor(
  source: Uint8Array,
  target: Uint8Array,
  regions: AdjustRegions,
  arch: ReferenceArchName,
): LabelMap {
  const votes = new LabelVotes();
  const src = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const dst = new DataView(target.buffer, target.byteOffset, target.byteLength);
  for (let r = 0; r < regions.oldStart.length; r++) {
    const start = regions.oldStart[r] as number;
    const end = start + (regions.lengthBytes[r] as number);
    const delta = (regions.newStart[r] as number) - start;
    if (arch === 'x86-64') {
      for (let p = start; ;) {
        const ref = nextX86Reference(source, p, start, end);
        if (ref < 0) break;
        const at = Math.floor(ref / 8);
        const next = at + 4 + (ref % 8);
        const t = next + src.getInt32(at, true);
        if (throughRegion(regions, t) !== undefined) {
          p = next;
          continue;
        }
        if (at + delta < 0 || at + delta + 4 > target.length) {
          p = referenceStart + 1;
          continue;
        }
        // Scanned on from the instruction's end, as the adjustment does once the table maps it
        // (votes only: a target whose interval is dropped is rescanned from the next byte there).
        votes.add(t, next + delta + dst.getInt32(at + delta, true) - t);
        p = next;
      }
    } else {
      for (let p = Math.ceil(start / 4) * 4; p + 4 <= end; p += 4) {
        const q = p + delta;
        if (q < 0 || q + 4 > target.length) continue;
        const w = src.getUint32(p, true);
        const u = dst.getUint32(q, true);
        const field = aarch64Field(w);
        let t: number;
        let moved: number;
        if (field !== undefined) {
          const mask = 2 ** field[1] - 1;
          const fieldMask = mask * 2 ** field[0];
          if ((w & ~fieldMask) >>> 0 !== (u & ~fieldMask) >>> 0) continue;
          t = p + signed((w >>> field[0]) & mask, field[1]) * field[2];
          moved = q + signed((u >>> field[0]) & mask, field[1]) * field[2];
        } else if ((w & 0x9f000000) >>> 0 === 0x10000000 && (w & 0x9f00001f) >>> 0 === (u & 0x9f00001f) >>> 0) {
          t = p + adrImm(w);
          moved = q + adrImm(u);
        } else continue;
        if (throughRegion(regions, t) === undefined) votes.add(t, moved - t);
      }
    }
  }
  return votes.build();
}
