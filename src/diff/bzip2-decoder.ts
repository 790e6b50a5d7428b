// A bounded bzip2 decoder for the three streams inside a BSDIFF40 patch. Pure TypeScript so a
// hostile patch never reaches native libbzip2 1.0.6 (CVE-2019-12900). Owns the bzip2 stream
// format only: it rejects anything libbzip2 could read differently (randomised blocks,
// over-full Huffman codes, too many selectors) and stops as soon as output passes the cap.

import { blobDecodeError } from '../codecs/codec-errors.js';

const WHAT = 'bsdiff';
const BLOCK_MAGIC = [0x314159, 0x265359] as const;
const END_MAGIC = [0x177245, 0x385090] as const;
const MAX_CODE_BITS = 20;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 2 + 900_000 / GROUP_SIZE;
const CRC_TABLE = makeCrcTable();

/** One decoded bzip2 stream and where it ended. */
export interface Bzip2Result {
  readonly output: Buffer;
  /** Bytes of input used, up to and including the byte holding the end-of-stream CRC. */
  readonly consumedBytes: number;
}

/**
 * Decodes the single bzip2 stream at the start of `data`. Bytes after the stream are ignored
 * (as bspatch does). Memory: the output (at most `maxOutputBytes`) plus 4 bytes per byte of
 * the stream's block size (3.6 MB at `-9`).
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on corrupt, truncated or oversized data.
 */
export function decodeBzip2(data: Uint8Array, maxOutputBytes: number): Bzip2Result {
  return new Bzip2Decoder(data, maxOutputBytes).run();
}

interface HuffmanTable {
  readonly counts: Int32Array;
  readonly symbols: Uint16Array;
}

class Bzip2Decoder {
  private offset = 0;
  private bitBuffer = 0;
  private bitCount = 0;
  private output: Buffer;
  private outputBytes = 0;
  private tt: Uint32Array = new Uint32Array(0);

  constructor(
    private readonly data: Uint8Array,
    private readonly maxOutputBytes: number,
  ) {
    this.output = Buffer.allocUnsafe(Math.min(maxOutputBytes, 64 * 1024));
  }

  run(): Bzip2Result {
    if (this.bits(8) !== 0x42 || this.bits(8) !== 0x5a || this.bits(8) !== 0x68) throw fail('bzip2 stream has a bad magic');
    const level = this.bits(8) - 0x30;
    if (level < 1 || level > 9) throw fail(`bzip2 block size digit ${level} is not 1..9`);
    const blockMaxBytes = level * 100_000;
    let combinedCrc = 0;
    for (;;) {
      const magicHigh = this.bits(24);
      const magicLow = this.bits(24);
      const storedCrc = this.bits32();
      if (magicHigh === BLOCK_MAGIC[0] && magicLow === BLOCK_MAGIC[1]) {
        const blockCrc = this.decodeBlock(blockMaxBytes);
        if (blockCrc !== storedCrc) throw fail('bzip2 block CRC mismatch');
        combinedCrc = (((combinedCrc << 1) | (combinedCrc >>> 31)) ^ blockCrc) >>> 0;
      } else if (magicHigh === END_MAGIC[0] && magicLow === END_MAGIC[1]) {
        if (storedCrc !== combinedCrc) throw fail('bzip2 stream CRC mismatch');
        return { output: this.output.subarray(0, this.outputBytes), consumedBytes: this.offset };
      } else {
        throw fail('bzip2 block magic not found');
      }
    }
  }

  /** Decodes one block into the output; returns the CRC of what it produced. */
  private decodeBlock(blockMaxBytes: number): number {
    if (this.bits(1) !== 0) throw fail('randomised bzip2 blocks are not supported');
    const origPtr = this.bits(24);
    const symbolToByte = this.readSymbolMap();
    const alphabetSize = symbolToByte.length + 2;
    const groupCount = this.bits(3);
    if (groupCount < 2 || groupCount > 6) throw fail(`bzip2 block has ${groupCount} Huffman groups`);
    const selectors = this.readSelectors(groupCount);
    const tables: HuffmanTable[] = [];
    for (let t = 0; t < groupCount; t++) tables.push(this.readTable(alphabetSize));

    if (this.tt.length < blockMaxBytes) this.tt = new Uint32Array(blockMaxBytes);
    const tt = this.tt;
    const byteCounts = new Int32Array(256);
    const mtf = Uint8Array.from({ length: 256 }, (_, i) => i);
    const endOfBlock = alphabetSize - 1;
    let blockBytes = 0;
    let runBytes = 0;
    let runWeight = 0;
    let groupIndex = -1;
    let groupLeft = 0;
    let table = tables[0] as HuffmanTable;
    for (;;) {
      if (groupLeft === 0) {
        groupIndex += 1;
        if (groupIndex >= selectors.length) throw fail('bzip2 block runs past its selectors');
        table = tables[selectors[groupIndex] as number] as HuffmanTable;
        groupLeft = GROUP_SIZE;
      }
      groupLeft -= 1;
      const symbol = this.readSymbol(table);
      if (symbol <= 1) {
        // RUNA/RUNB: bijective base-2 digits of a run of the front MTF byte.
        if (runWeight === 0) runWeight = 1;
        if (runWeight >= 2 * 1024 * 1024) throw fail('bzip2 run length too long');
        runBytes += (symbol + 1) * runWeight;
        runWeight *= 2;
        continue;
      }
      if (runWeight !== 0) {
        if (blockBytes + runBytes > blockMaxBytes) throw fail('bzip2 block exceeds its declared size');
        const byte = symbolToByte[mtf[0] as number] as number;
        byteCounts[byte] = (byteCounts[byte] as number) + runBytes;
        tt.fill(byte, blockBytes, blockBytes + runBytes);
        blockBytes += runBytes;
        runBytes = 0;
        runWeight = 0;
      }
      if (symbol === endOfBlock) break;
      if (blockBytes >= blockMaxBytes) throw fail('bzip2 block exceeds its declared size');
      const position = symbol - 1;
      const value = mtf[position] as number;
      mtf.copyWithin(1, 0, position);
      mtf[0] = value;
      const byte = symbolToByte[value] as number;
      byteCounts[byte] = (byteCounts[byte] as number) + 1;
      tt[blockBytes++] = byte;
    }
    if (origPtr >= blockBytes) throw fail('bzip2 block origin pointer out of range');
    return this.emitBlock(tt, blockBytes, origPtr, byteCounts);
  }

  /** Inverse BWT, then the initial run-length decoding (4 equal bytes + a repeat count). */
  private emitBlock(tt: Uint32Array, blockBytes: number, origPtr: number, byteCounts: Int32Array): number {
    const starts = new Int32Array(256);
    for (let b = 1; b < 256; b++) starts[b] = (starts[b - 1] as number) + (byteCounts[b - 1] as number);
    for (let i = 0; i < blockBytes; i++) {
      const byte = (tt[i] as number) & 0xff;
      const slot = starts[byte] as number;
      tt[slot] = ((tt[slot] as number) | (i << 8)) >>> 0;
      starts[byte] = slot + 1;
    }
    let crc = 0xffffffff;
    let position = (tt[origPtr] as number) >>> 8;
    let last = -1;
    let run = 0;
    for (let k = 0; k < blockBytes; k++) {
      const entry = tt[position] as number;
      const byte = entry & 0xff;
      position = entry >>> 8;
      if (run === 4) {
        this.reserve(byte);
        for (let r = 0; r < byte; r++) {
          this.output[this.outputBytes++] = last;
          crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ last) & 0xff] as number)) >>> 0;
        }
        run = 0;
        last = -1;
        continue;
      }
      run = byte === last ? run + 1 : 1;
      last = byte;
      this.reserve(1);
      this.output[this.outputBytes++] = byte;
      crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
    }
    return ~crc >>> 0;
  }

  private readSymbolMap(): number[] {
    const used = this.bits(16);
    const symbolToByte: number[] = [];
    for (let i = 0; i < 16; i++) {
      if ((used & (0x8000 >> i)) === 0) continue;
      const bits = this.bits(16);
      for (let j = 0; j < 16; j++) if ((bits & (0x8000 >> j)) !== 0) symbolToByte.push(i * 16 + j);
    }
    if (symbolToByte.length === 0) throw fail('bzip2 block uses no byte values');
    return symbolToByte;
  }

  private readSelectors(groupCount: number): Uint8Array {
    const count = this.bits(15);
    if (count < 1 || count > MAX_SELECTORS) throw fail(`bzip2 block has ${count} selectors`);
    const order = Array.from({ length: groupCount }, (_, i) => i);
    const selectors = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      let index = 0;
      while (this.bits(1) === 1) {
        index += 1;
        if (index >= groupCount) throw fail('bzip2 selector out of range');
      }
      const group = order[index] as number;
      order.splice(index, 1);
      order.unshift(group);
      selectors[i] = group;
    }
    return selectors;
  }

  /** Delta-coded code lengths, then canonical codes; refuses over-full (ambiguous) codes. */
  private readTable(alphabetSize: number): HuffmanTable {
    const lengths = new Uint8Array(alphabetSize);
    let length = this.bits(5);
    for (let s = 0; s < alphabetSize; s++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_BITS) throw fail('bzip2 Huffman code length out of range');
        if (this.bits(1) === 0) break;
        length += this.bits(1) === 0 ? 1 : -1;
      }
      lengths[s] = length;
    }
    const counts = new Int32Array(MAX_CODE_BITS + 1);
    for (const l of lengths) counts[l] = (counts[l] as number) + 1;
    let kraft = 0;
    for (let l = 1; l <= MAX_CODE_BITS; l++) kraft += (counts[l] as number) * 2 ** (MAX_CODE_BITS - l);
    if (kraft > 2 ** MAX_CODE_BITS) throw fail('bzip2 Huffman code is over-subscribed');
    const symbols = new Uint16Array(alphabetSize);
    let next = 0;
    for (let l = 1; l <= MAX_CODE_BITS; l++) {
      for (let s = 0; s < alphabetSize; s++) if (lengths[s] === l) symbols[next++] = s;
    }
    return { counts, symbols };
  }

  private readSymbol(table: HuffmanTable): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let length = 1; length <= MAX_CODE_BITS; length++) {
      code |= this.bits(1);
      const count = table.counts[length] as number;
      if (code - first < count) return table.symbols[index + code - first] as number;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw fail('bzip2 Huffman code not in table');
  }

  private reserve(extraBytes: number): void {
    const needed = this.outputBytes + extraBytes;
    if (needed > this.maxOutputBytes) throw fail(`bzip2 stream expands past ${this.maxOutputBytes} bytes`);
    if (needed <= this.output.length) return;
    const grown = Buffer.allocUnsafe(Math.min(this.maxOutputBytes, Math.max(needed, this.output.length * 2)));
    this.output.copy(grown, 0, 0, this.outputBytes);
    this.output = grown;
  }

  private bits32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0;
  }

  /** Reads `count` (1..24) bits, most significant first. */
  private bits(count: number): number {
    while (this.bitCount < count) {
      if (this.offset >= this.data.length) throw fail('bzip2 stream is truncated');
      this.bitBuffer = ((this.bitBuffer << 8) | (this.data[this.offset++] as number)) >>> 0;
      this.bitCount += 8;
    }
    this.bitCount -= count;
    const value = (this.bitBuffer >>> this.bitCount) & ((1 << count) - 1);
    this.bitBuffer &= (1 << this.bitCount) - 1;
    return value;
  }
}

function fail(detail: string): Error {
  return blobDecodeError(WHAT, detail);
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
}
