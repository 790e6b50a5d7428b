// The block coder of zlib's reference deflate (madler zlib 1.2.x/1.3.x trees.c), written anew so a
// re-deflate reproduces zlib's bits exactly: symbol tallies, Huffman trees built with zlib's heap
// order, depth tie-break and overflow fix, the stored/fixed/dynamic choice, and an LSB-first bit
// writer into a capped sink. Knows nothing about matching (zlib-deflate.ts). Pure.

import { DeflateSink } from './deflate-sink.js';

const L_CODES = 286;
const D_CODES = 30;
const BL_CODES = 19;
const HEAP_SIZE = 2 * L_CODES + 1;
const MAX_BITS = 15;
const MAX_BL_BITS = 7;
const LITERALS = 256;
const END_BLOCK = 256;
const REP_3_6 = 16;
const REPZ_3_10 = 17;
const REPZ_11_138 = 18;
/** Extra bits of length codes 257..285 and of distance codes 0..29 (RFC 1951 3.2.5). */
export const EXTRA_LBITS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
export const EXTRA_DBITS = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
const EXTRA_BLBITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
/** The order of the code-length code's lengths in a dynamic block header (RFC 1951 3.2.7). */
export const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** `code`'s low `len` bits reversed (deflate writes Huffman codes most significant bit first). */
export function reverseBits(code: number, len: number): number {
  let res = 0;
  for (let i = 0; i < len; i++, code >>>= 1) res = (res << 1) | (code & 1);
  return res;
}

/**
 * Canonical codes from bit lengths (gen_codes): `code` gets each symbol's bit-reversed code;
 * `blCount[b]` is how many lengths are `b` (`blCount[0]` 0).
 */
export function genCodes(len: ArrayLike<number>, code: Uint16Array, maxCode: number, blCount: Uint16Array): void {
  const next = new Uint16Array(MAX_BITS + 1);
  let c = 0;
  for (let bits = 1; bits <= MAX_BITS; bits++) {
    c = (c + blCount[bits - 1]!) << 1;
    next[bits] = c;
  }
  for (let n = 0; n <= maxCode; n++) {
    const l = len[n]!;
    if (l !== 0) code[n] = reverseBits(next[l]!++, l);
  }
}

// Static tables (tr_static_init).
const LENGTH_CODE = new Uint8Array(256);
const BASE_LENGTH = new Int32Array(29);
const DIST_CODE = new Uint8Array(512);
const BASE_DIST = new Int32Array(D_CODES);
const STATIC_LLEN = new Uint16Array(L_CODES + 2);
const STATIC_LCODE = new Uint16Array(L_CODES + 2);
const STATIC_DLEN = new Uint16Array(D_CODES).fill(5);
const STATIC_DCODE = new Uint16Array(D_CODES);
{
  let length = 0;
  let code = 0;
  for (; code < 28; code++) {
    BASE_LENGTH[code] = length;
    for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) LENGTH_CODE[length++] = code;
  }
  LENGTH_CODE[length - 1] = code;
  let dist = 0;
  for (code = 0; code < 16; code++) {
    BASE_DIST[code] = dist;
    for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) DIST_CODE[dist++] = code;
  }
  dist >>= 7;
  for (; code < D_CODES; code++) {
    BASE_DIST[code] = dist << 7;
    for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) DIST_CODE[256 + dist++] = code;
  }
  const blCount = new Uint16Array(MAX_BITS + 1);
  for (let n = 0; n <= 287; n++) {
    const bits = n <= 143 ? 8 : n <= 255 ? 9 : n <= 279 ? 7 : 8;
    STATIC_LLEN[n] = bits;
    blCount[bits]!++;
  }
  genCodes(STATIC_LLEN, STATIC_LCODE, L_CODES + 1, blCount);
  for (let n = 0; n < D_CODES; n++) STATIC_DCODE[n] = reverseBits(n, 5);
}

/** Distance code of `dist` = distance − 1 (zlib's d_code). */
export function distCode(dist: number): number {
  return dist < 256 ? DIST_CODE[dist]! : DIST_CODE[256 + (dist >> 7)]!;
}

/** Length code (0..28, for symbols 257..285) of a match of `length` 3..258 (258: always 28). */
export function lengthCode(length: number): number {
  return LENGTH_CODE[length - 3]!;
}

/** A coder's sink outside a stream: no capacity, so any byte put is refused. */
const NO_SINK = new DeflateSink(0);

/** One dynamic tree: zlib keeps Freq/Code and Dad/Len in unions; so do these two arrays. */
interface Tree {
  readonly fc: Uint16Array;
  readonly dl: Uint16Array;
  maxCode: number;
  readonly staticLen: Uint16Array | undefined;
  readonly extra: readonly number[];
  readonly extraBase: number;
  readonly elems: number;
  readonly maxLength: number;
}

/** zlib's per-stream block state: the symbol buffer, the three trees and the bit buffer. */
export class DeflateBlockCoder {
  private readonly ltree: Tree;
  private readonly dtree: Tree;
  private readonly bltree: Tree;
  private readonly heap = new Int32Array(2 * L_CODES + 1);
  private heapLen = 0;
  private heapMax = 0;
  private readonly depth = new Uint8Array(2 * L_CODES + 1);
  private readonly blCount = new Uint16Array(MAX_BITS + 1);
  private optLen = 0;
  private staticLen = 0;
  /** Symbols of the current block: distance (0 = literal) and length-3 or literal byte. */
  private readonly symDist: Uint16Array;
  private readonly symLc: Uint8Array;
  private symNext = 0;
  private readonly symEnd: number;
  private bitBuf = 0;
  private bitCount = 0;

  private fixedTrees = false;
  /** The stream's sink; outside one, NO_SINK. */
  private sink = NO_SINK;

  /**
   * `symDist` and `symLc`: the symbol buffer, of zlib's lit_bufsize entries each (written before
   * read). One coder serves one stream at a time: start() begins each.
   */
  constructor(symDist: Uint16Array, symLc: Uint8Array) {
    const tree = (
      size: number,
      st: Uint16Array | undefined,
      extra: readonly number[],
      base: number,
      elems: number,
      maxLength: number,
    ): Tree => ({
      fc: new Uint16Array(size),
      dl: new Uint16Array(size),
      maxCode: 0,
      staticLen: st,
      extra,
      extraBase: base,
      elems,
      maxLength,
    });
    this.ltree = tree(HEAP_SIZE, STATIC_LLEN, EXTRA_LBITS, LITERALS + 1, L_CODES, MAX_BITS);
    this.dtree = tree(2 * D_CODES + 1, STATIC_DLEN, EXTRA_DBITS, 0, D_CODES, MAX_BITS);
    this.bltree = tree(2 * BL_CODES + 1, undefined, EXTRA_BLBITS, 0, BL_CODES, MAX_BL_BITS);
    this.symDist = symDist;
    this.symLc = symLc;
    this.symEnd = symDist.length - 1;
  }

  /**
   * Begins a stream into `sink` (`fixedTrees`: strategy Z_FIXED) from the state a new coder has:
   * trees, heap and bit buffer all zero. Reusing one coder saves its nine small arrays per stream.
   */
  start(fixedTrees: boolean, sink: DeflateSink): void {
    this.fixedTrees = fixedTrees;
    this.sink = sink;
    for (const t of [this.ltree, this.dtree, this.bltree]) {
      t.fc.fill(0);
      t.dl.fill(0);
      t.maxCode = 0;
    }
    this.heap.fill(0);
    this.depth.fill(0);
    this.blCount.fill(0);
    this.heapLen = 0;
    this.heapMax = 0;
    this.bitBuf = 0;
    this.bitCount = 0;
    this.initBlock();
  }

  /** Ends the coder's hold on the stream's sink (NO_SINK until the next start()). */
  detach(): void {
    this.sink = NO_SINK;
  }

  private initBlock(): void {
    this.ltree.fc.fill(0, 0, L_CODES);
    this.dtree.fc.fill(0, 0, D_CODES);
    this.bltree.fc.fill(0, 0, BL_CODES);
    this.ltree.fc[END_BLOCK] = 1;
    this.optLen = 0;
    this.staticLen = 0;
    this.symNext = 0;
  }

  /** Tallies a literal byte; true when the block is full and must be flushed. */
  tallyLiteral(c: number): boolean {
    this.symDist[this.symNext] = 0;
    this.symLc[this.symNext++] = c;
    this.ltree.fc[c]!++;
    return this.symNext === this.symEnd;
  }

  /** Tallies a match (distance 1..32768, length − 3); true when the block must be flushed. */
  tallyMatch(distance: number, lengthMinus3: number): boolean {
    this.symDist[this.symNext] = distance;
    this.symLc[this.symNext++] = lengthMinus3;
    this.ltree.fc[LENGTH_CODE[lengthMinus3]! + LITERALS + 1]!++;
    this.dtree.fc[distCode(distance - 1)]!++;
    return this.symNext === this.symEnd;
  }

  /** True when symbols are pending in the current block. */
  hasSymbols(): boolean {
    return this.symNext > 0;
  }

  private sendBits(value: number, length: number): void {
    this.bitBuf |= value << this.bitCount;
    this.bitCount += length;
    while (this.bitCount >= 8) {
      this.sink.put(this.bitBuf & 0xff);
      this.bitBuf >>>= 8;
      this.bitCount -= 8;
    }
  }

  private windup(): void {
    if (this.bitCount > 0) this.sink.put(this.bitBuf & 0xff);
    this.bitBuf = 0;
    this.bitCount = 0;
  }

  private smaller(fc: Uint16Array, n: number, m: number): boolean {
    return fc[n]! < fc[m]! || (fc[n] === fc[m] && this.depth[n]! <= this.depth[m]!);
  }

  private downHeap(fc: Uint16Array, k: number): void {
    const heap = this.heap;
    const v = heap[k]!;
    let j = k << 1;
    while (j <= this.heapLen) {
      if (j < this.heapLen && this.smaller(fc, heap[j + 1]!, heap[j]!)) j++;
      if (this.smaller(fc, v, heap[j]!)) break;
      heap[k] = heap[j]!;
      k = j;
      j <<= 1;
    }
    heap[k] = v;
  }

  /** gen_bitlen: bit lengths from the tree, limited to the tree's max length as zlib does. */
  private genBitlen(t: Tree): void {
    const { fc, dl, maxCode, extra, extraBase, maxLength } = t;
    const heap = this.heap;
    const blCount = this.blCount;
    blCount.fill(0);
    dl[heap[this.heapMax]!] = 0;
    let overflow = 0;
    let h: number;
    for (h = this.heapMax + 1; h < HEAP_SIZE; h++) {
      const n = heap[h]!;
      let bits = dl[dl[n]!]! + 1;
      if (bits > maxLength) {
        bits = maxLength;
        overflow++;
      }
      dl[n] = bits;
      if (n > maxCode) continue;
      blCount[bits]!++;
      const xbits = n >= extraBase ? extra[n - extraBase]! : 0;
      const f = fc[n]!;
      this.optLen += f * (bits + xbits);
      if (t.staticLen) this.staticLen += f * (t.staticLen[n]! + xbits);
    }
    if (overflow === 0) return;
    do {
      let bits = maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits]!--;
      blCount[bits + 1]! += 2;
      blCount[maxLength]!--;
      overflow -= 2;
    } while (overflow > 0);
    for (let bits = maxLength; bits !== 0; bits--) {
      let n = blCount[bits]!;
      while (n !== 0) {
        const m = heap[--h]!;
        if (m > maxCode) continue;
        if (dl[m] !== bits) {
          this.optLen += (bits - dl[m]!) * fc[m]!;
          dl[m] = bits;
        }
        n--;
      }
    }
  }

  /** build_tree: Huffman tree of one alphabet, then its lengths and codes. */
  private buildTree(t: Tree): void {
    const { fc, dl, elems } = t;
    const heap = this.heap;
    let maxCode = -1;
    this.heapLen = 0;
    this.heapMax = HEAP_SIZE;
    for (let n = 0; n < elems; n++) {
      if (fc[n] !== 0) {
        heap[++this.heapLen] = maxCode = n;
        this.depth[n] = 0;
      } else {
        dl[n] = 0;
      }
    }
    while (this.heapLen < 2) {
      const node = (heap[++this.heapLen] = maxCode < 2 ? ++maxCode : 0);
      fc[node] = 1;
      this.depth[node] = 0;
      this.optLen--;
      if (t.staticLen) this.staticLen -= t.staticLen[node]!;
    }
    t.maxCode = maxCode;
    for (let n = this.heapLen >> 1; n >= 1; n--) this.downHeap(fc, n);
    let node = elems;
    do {
      const n = heap[1]!;
      heap[1] = heap[this.heapLen--]!;
      this.downHeap(fc, 1);
      const m = heap[1]!;
      heap[--this.heapMax] = n;
      heap[--this.heapMax] = m;
      fc[node] = fc[n]! + fc[m]!;
      this.depth[node] = Math.max(this.depth[n]!, this.depth[m]!) + 1;
      dl[n] = dl[m] = node;
      heap[1] = node++;
      this.downHeap(fc, 1);
    } while (this.heapLen >= 2);
    heap[--this.heapMax] = heap[1]!;
    this.genBitlen(t);
    genCodes(dl, fc, maxCode, this.blCount);
  }

  /** scan_tree (count === true) or send_tree: the run-length coding of a tree's lengths. */
  private walkTree(t: Tree, maxCode: number, send: boolean): void {
    const dl = t.dl;
    const bl = this.bltree;
    let prevlen = -1;
    let nextlen = dl[0]!;
    let count = 0;
    let maxCount = nextlen === 0 ? 138 : 7;
    let minCount = nextlen === 0 ? 3 : 4;
    if (!send) dl[maxCode + 1] = 0xffff;
    const code = (c: number): void => this.sendBits(bl.fc[c]!, bl.dl[c]!);
    for (let n = 0; n <= maxCode; n++) {
      const curlen = nextlen;
      nextlen = dl[n + 1]!;
      if (++count < maxCount && curlen === nextlen) continue;
      if (count < minCount) {
        if (send) for (; count > 0; count--) code(curlen);
        else bl.fc[curlen]! += count;
      } else if (curlen !== 0) {
        if (send) {
          if (curlen !== prevlen) {
            code(curlen);
            count--;
          }
          code(REP_3_6);
          this.sendBits(count - 3, 2);
        } else {
          if (curlen !== prevlen) bl.fc[curlen]!++;
          bl.fc[REP_3_6]!++;
        }
      } else if (count <= 10) {
        if (send) {
          code(REPZ_3_10);
          this.sendBits(count - 3, 3);
        } else bl.fc[REPZ_3_10]!++;
      } else if (send) {
        code(REPZ_11_138);
        this.sendBits(count - 11, 7);
      } else bl.fc[REPZ_11_138]!++;
      count = 0;
      prevlen = curlen;
      if (nextlen === 0) {
        maxCount = 138;
        minCount = 3;
      } else if (curlen === nextlen) {
        maxCount = 6;
        minCount = 3;
      } else {
        maxCount = 7;
        minCount = 4;
      }
    }
  }

  /**
   * compress_block: the block's symbols with the given codes. The bit buffer lives in locals here
   * (send_bits inlined; whole bytes go to the sink as soon as eight bits are pending, as before).
   */
  private compressBlock(lcode: Uint16Array, llen: Uint16Array, dcode: Uint16Array, dlen: Uint16Array): void {
    const sink = this.sink;
    const symDist = this.symDist;
    const symLc = this.symLc;
    const symCount = this.symNext;
    let bitBuf = this.bitBuf;
    let bitCount = this.bitCount;
    for (let sx = 0; sx < symCount; sx++) {
      let dist = symDist[sx]!;
      let lc = symLc[sx]!;
      if (dist === 0) {
        bitBuf |= lcode[lc]! << bitCount;
        bitCount += llen[lc]!;
      } else {
        let code = LENGTH_CODE[lc]!;
        bitBuf |= lcode[code + LITERALS + 1]! << bitCount;
        bitCount += llen[code + LITERALS + 1]!;
        let extra = EXTRA_LBITS[code]!;
        if (extra !== 0) {
          lc -= BASE_LENGTH[code]!;
          bitBuf |= lc << bitCount;
          bitCount += extra;
        }
        // Fewer than 8 bits were pending, so at most 7 + 15 + 5 = 27 now: flush before the distance
        // code (15 bits) and again before its extra bits (13), so the buffer stays within 32 bits.
        while (bitCount >= 8) {
          sink.put(bitBuf & 0xff);
          bitBuf >>>= 8;
          bitCount -= 8;
        }
        dist--;
        code = distCode(dist);
        bitBuf |= dcode[code]! << bitCount;
        bitCount += dlen[code]!;
        extra = EXTRA_DBITS[code]!;
        if (extra !== 0) {
          while (bitCount >= 8) {
            sink.put(bitBuf & 0xff);
            bitBuf >>>= 8;
            bitCount -= 8;
          }
          bitBuf |= (dist - BASE_DIST[code]!) << bitCount;
          bitCount += extra;
        }
      }
      while (bitCount >= 8) {
        sink.put(bitBuf & 0xff);
        bitBuf >>>= 8;
        bitCount -= 8;
      }
    }
    this.bitBuf = bitBuf;
    this.bitCount = bitCount;
    this.sendBits(lcode[END_BLOCK]!, llen[END_BLOCK]!);
  }

  /**
   * _tr_flush_block: ends the current block as stored (when `stored` holds its input and that is
   * no larger), fixed or dynamic, exactly as zlib chooses; `last` closes the stream.
   */
  flushBlock(stored: Uint8Array | undefined, storedLen: number, last: boolean): void {
    this.buildTree(this.ltree);
    this.buildTree(this.dtree);
    this.walkTree(this.ltree, this.ltree.maxCode, false);
    this.walkTree(this.dtree, this.dtree.maxCode, false);
    this.buildTree(this.bltree);
    let maxBlindex = BL_CODES - 1;
    for (; maxBlindex >= 3; maxBlindex--) if (this.bltree.dl[BL_ORDER[maxBlindex]!] !== 0) break;
    this.optLen += 3 * (maxBlindex + 1) + 5 + 5 + 4;
    let optLenb = Math.floor((this.optLen + 3 + 7) / 8);
    const staticLenb = Math.floor((this.staticLen + 3 + 7) / 8);
    if (staticLenb <= optLenb || this.fixedTrees) optLenb = staticLenb;
    const lastBit = last ? 1 : 0;
    if (storedLen + 4 <= optLenb && stored !== undefined) {
      this.sendBits(lastBit, 3);
      this.windup();
      this.sink.uncodedBytes += storedLen + 4;
      for (const b of [storedLen & 0xff, (storedLen >> 8) & 0xff, ~storedLen & 0xff, (~storedLen >> 8) & 0xff])
        this.sink.put(b);
      for (let i = 0; i < storedLen; i++) this.sink.put(stored[i]!);
    } else if (staticLenb === optLenb) {
      const before = this.sink.length;
      this.sendBits(2 + lastBit, 3);
      this.compressBlock(STATIC_LCODE, STATIC_LLEN, STATIC_DCODE, STATIC_DLEN);
      this.sink.uncodedBytes += this.sink.length - before + 2; // the bits still pending on either side
    } else {
      this.sendBits(4 + lastBit, 3);
      const lcodes = this.ltree.maxCode + 1;
      const dcodes = this.dtree.maxCode + 1;
      this.sendBits(lcodes - 257, 5);
      this.sendBits(dcodes - 1, 5);
      this.sendBits(maxBlindex + 1 - 4, 4);
      for (let rank = 0; rank <= maxBlindex; rank++) this.sendBits(this.bltree.dl[BL_ORDER[rank]!]!, 3);
      this.walkTree(this.ltree, lcodes - 1, true);
      this.walkTree(this.dtree, dcodes - 1, true);
      this.compressBlock(this.ltree.fc, this.ltree.dl, this.dtree.fc, this.dtree.dl);
    }
    this.initBlock();
    if (last) this.windup();
  }
}
