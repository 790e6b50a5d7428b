// A tiny, slow bzip2 ENCODER for tests only: lets the suites craft BSDIFF40 patches with any
// control tuples (including hostile ones) and check the decoder against streams it did not
// make. Fixed-length Huffman codes and naive BWT sorting; fine for a few kilobytes.

/** Knobs for crafting broken streams. */
export interface Bzip2TestOptions {
  /** Writes this selector count instead of the real one (extra selectors are zeros). */
  readonly selectorCountOverride?: number;
  /** Writes a wrong block CRC. */
  readonly corruptBlockCrc?: boolean;
}

/** bzip2 `-9` stream of `data` (one block; `data` must stay under ~850 kB). */
export function encodeBzip2ForTest(data: Uint8Array, options: Bzip2TestOptions = {}): Buffer {
  const bits = new BitWriter();
  for (const c of 'BZh9') bits.write(8, c.charCodeAt(0));
  let combined = 0;
  if (data.length > 0) {
    const crc = bzip2Crc(data);
    combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
    bits.write(24, 0x314159);
    bits.write(24, 0x265359);
    bits.write(32, options.corruptBlockCrc ? crc ^ 1 : crc);
    writeBlock(bits, rle1(data), options);
  }
  bits.write(24, 0x177245);
  bits.write(24, 0x385090);
  bits.write(32, combined);
  return bits.finish();
}

function writeBlock(bits: BitWriter, block: Uint8Array, options: Bzip2TestOptions): void {
  const n = block.length;
  const rotations = Array.from({ length: n }, (_, i) => i);
  rotations.sort((a, b) => {
    for (let k = 0; k < n; k++) {
      const d = (block[(a + k) % n] as number) - (block[(b + k) % n] as number);
      if (d !== 0) return d;
    }
    return 0;
  });
  const last = rotations.map((r) => block[(r + n - 1) % n] as number);
  const origPtr = rotations.indexOf(0);
  const used = [...new Set(block)].sort((a, b) => a - b);
  const symbols = mtfAndRuns(last, used);
  const alphabetSize = used.length + 2;
  const codeBits = Math.max(1, Math.ceil(Math.log2(alphabetSize)));

  bits.write(1, 0);
  bits.write(24, origPtr);
  let used16 = 0;
  for (let i = 0; i < 16; i++) if (used.some((b) => b >> 4 === i)) used16 |= 0x8000 >> i;
  bits.write(16, used16);
  for (let i = 0; i < 16; i++) {
    if ((used16 & (0x8000 >> i)) === 0) continue;
    let row = 0;
    for (const b of used) if (b >> 4 === i) row |= 0x8000 >> (b & 15);
    bits.write(16, row);
  }
  bits.write(3, 2);
  const selectorCount = options.selectorCountOverride ?? Math.ceil(symbols.length / 50);
  bits.write(15, selectorCount);
  for (let i = 0; i < selectorCount; i++) bits.write(1, 0);
  for (let group = 0; group < 2; group++) {
    bits.write(5, codeBits);
    for (let s = 0; s < alphabetSize; s++) bits.write(1, 0);
  }
  for (const symbol of symbols) bits.write(codeBits, symbol);
}

/** Initial run-length encoding: runs of 4..259 equal bytes become 4 bytes + a count. */
function rle1(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length;) {
    const byte = data[i] as number;
    let run = 1;
    while (i + run < data.length && data[i + run] === byte && run < 259) run++;
    if (run >= 4) out.push(byte, byte, byte, byte, run - 4);
    else for (let k = 0; k < run; k++) out.push(byte);
    i += run;
  }
  return Uint8Array.from(out);
}

/** MTF over the used bytes, zero runs as RUNA/RUNB digits, then EOB. */
function mtfAndRuns(last: number[], used: number[]): number[] {
  const order = [...used];
  const out: number[] = [];
  let zeros = 0;
  const flush = (): void => {
    let run = zeros;
    while (run > 0) {
      out.push((run - 1) & 1);
      run = (run - 1) >> 1;
    }
    zeros = 0;
  };
  for (const byte of last) {
    const index = order.indexOf(byte);
    if (index === 0) {
      zeros++;
      continue;
    }
    flush();
    order.splice(index, 1);
    order.unshift(byte);
    out.push(index + 1);
  }
  flush();
  out.push(used.length + 1);
  return out;
}

function bzip2Crc(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return ~crc >>> 0;
}

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private count = 0;

  write(width: number, value: number): void {
    for (let i = width - 1; i >= 0; i--) {
      this.current = (this.current << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.count === 8) {
        this.bytes.push(this.current);
        this.current = 0;
        this.count = 0;
      }
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.bytes.push(this.current << (8 - this.count));
    return Buffer.from(this.bytes);
  }
}

/** 64-bit sign-magnitude little-endian, as bsdiff writes offsets. */
export function offt(value: number): Buffer {
  const out = Buffer.alloc(8);
  let magnitude = Math.abs(value);
  for (let i = 0; i < 8; i++) {
    out[i] = magnitude % 256;
    magnitude = Math.floor(magnitude / 256);
  }
  if (value < 0) out[7] = (out[7] ?? 0) | 0x80;
  return out;
}

/** A BSDIFF40 patch from explicit control tuples and diff/extra blocks. */
export function craftBsdiffPatch(
  newSizeBytes: number,
  tuples: readonly [number, number, number][],
  diff: Uint8Array,
  extra: Uint8Array,
): Buffer {
  const ctrl = encodeBzip2ForTest(Buffer.concat(tuples.flatMap(([x, y, z]) => [offt(x), offt(y), offt(z)])));
  const diffBlock = encodeBzip2ForTest(diff);
  const extraBlock = encodeBzip2ForTest(extra);
  const header = Buffer.concat([
    Buffer.from('BSDIFF40'),
    offt(ctrl.length),
    offt(diffBlock.length),
    offt(newSizeBytes),
  ]);
  return Buffer.concat([header, ctrl, diffBlock, extraBlock]);
}
