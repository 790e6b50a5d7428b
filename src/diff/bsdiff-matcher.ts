// bsdiff's cover search (Percival's scan: exact matches found in the source, extended forwards
// and backwards into approximate matches whose byte differences go to the diff block, the rest
// of the new data to the extra block) over a hash-chain index of the source instead of a
// suffix array. Pure TypeScript, deterministic; the output is the three decoded blocks a
// BSDIFF40 patch carries, so bsdiff-patch.ts's walk applies it.
//
// Why not bsdiff's suffix sort: on 1 MiB chunks with 1.3-4 MiB sources it costs 0.3-1.4 s and
// 16 bytes of memory per source byte; this index costs 8-12 bytes per source byte and finds
// covers as good on firmware images (the seed only has to be an exact 8-byte match; the
// extension does the rest). Every byte compare of the scan is charged to a work budget, so
// crafted inputs (periodic data, near-duplicate regions) cost at most a few hundred compares per
// byte; pairing twin blocks (below) costs a hash of each block and at most two block compares.
//
// Whole 4 KiB target blocks equal to an aligned source block (a file's unchanged blocks, moved or
// not) are paired with it first (twinBlocks, as HDiffPatch covers equal blocks before its suffix
// search): the scan tries a block's twin before the index, and the index leaves such blocks out,
// so a lookup inside one may miss a source window of its bucket (not an exact match elsewhere:
// the twin already gives one of at least the rest of the block). On the chunk pairs of three
// bench pairs (major-64, arm64-64, patch-256) the matcher took 6 % less time and made 0.3 %
// fewer extra bytes; on chunks of mostly unchanged blocks, half the time. Where target blocks
// alternate between a source region and a near copy of it, the exact twins win over the near
// copy's diagonal: more covers (control tuples) and fewer extra bytes.

import { CTRL_TUPLE_BYTES, writeOfft, type BsdiffStreams } from './bsdiff-patch.js';

/** Bytes hashed per position: exact matches shorter than this are not seeds. */
const SEED_BYTES = 8;
/** Source positions tried per lookup (most recent first), beyond the extrapolated one. */
const MAX_CHAIN = 24;
/** A match is measured at most this far; the scan then continues from its end. */
const MAX_MATCH_BYTES = 1 << 16;
/** bsdiff's rule: a new match must beat the extrapolated old one by more than this many bytes. */
const MIN_GAIN_BYTES = 8;
/**
 * Byte compares (searches and extensions) per target byte before the scan falls back to short
 * measurements: ordinary data uses a few; periodic data or near-duplicate source regions could
 * otherwise make the scan quadratic. Until the budget runs out the result is exactly bsdiff's
 * scan over this index and the twins; after, matches are measured to FALLBACK_MATCH_BYTES, only
 * the first chain entry is tried, and extensions stop after FALLBACK_EXTENSION_BYTES.
 */
const WORK_PER_BYTE = 256;
const FALLBACK_MATCH_BYTES = 64;
const FALLBACK_EXTENSION_BYTES = 256;
/**
 * Most hash bits of the head table (4 Mi buckets, 16 MiB): a source of 4 MiB plus a few blocks
 * (two windows merged) would otherwise take a 32 MiB table, and a thread alternating between the
 * two sizes allocated and cleared a new table each time (~120 ms, page faults included).
 */
const MAX_HEAD_BITS = 22;
/** Source windows a SourceIndex filters before inserting them (its constructor explains). */
const INSERT_BATCH_WINDOWS = 1024;
/** Covers this short are folded into the extra block (worthACover). */
const FOLD_MAX_ADD_BYTES = 24;
/**
 * Aligned blocks of this size are compared whole to find target blocks equal to a source block
 * (twinBlocks): the file-system block, so a file's unchanged blocks line up in both buffers.
 */
const TWIN_BLOCK_SHIFT = 12;
const TWIN_BLOCK_BYTES = 1 << TWIN_BLOCK_SHIFT;
/** Known matches remembered by diagonal (source − target offset), so a scan stepping one byte at a time along a match does not measure it again. */
const REMEMBERED_DIAGONALS = 2;

/** An index's arrays: chain heads by bucket, chain links by source position, target buckets seen. */
interface IndexTables {
  readonly head: Int32Array;
  readonly prev: Int32Array;
  readonly looked: Uint32Array;
}

/**
 * The arrays released on this thread, lent to the next index: a build makes an index per chunk
 * and candidate, and fresh 16 MiB arrays each time cost page faults and garbage collection (a
 * 4 MiB-source index took half the time with reused arrays in a micro-benchmark on a busy
 * machine; whole builds on a quiet one gained a few percent). They keep the largest size asked
 * for, so chunks whose sources straddle a power of two do not reallocate them in turn: per
 * thread, at most a 16 MiB head (and its 512 KiB of bits) and 4 bytes per byte of the largest
 * source, held until the thread ends.
 */
let spareTables: IndexTables | undefined;

/** The windows of one batch to insert, reused by every index made on this thread (8 KiB). */
const insertBatch = {
  positions: new Int32Array(INSERT_BATCH_WINDOWS),
  buckets: new Int32Array(INSERT_BATCH_WINDOWS),
};

/**
 * Arrays for a 2^bits head and `positions` links: each of the spare ones that is large enough,
 * else a new one. An index uses views of their fronts (indexViews).
 */
function takeTables(bits: number, positions: number): IndexTables {
  const spare = spareTables;
  spareTables = undefined; // taken (never two sets held)
  const heads = 1 << bits;
  const fits = spare !== undefined && spare.head.length >= heads;
  return {
    head: fits ? spare.head : new Int32Array(heads),
    looked: fits ? spare.looked : new Uint32Array(1 << Math.max(0, bits - 5)),
    prev: spare && spare.prev.length >= positions ? spare.prev : new Int32Array(Math.max(0, positions)),
  };
}

/** The fronts of `tables` a 2^bits index uses, heads cleared to -1 and no bucket looked at yet. */
function indexViews(tables: IndexTables, bits: number): IndexTables {
  return {
    head: tables.head.subarray(0, 1 << bits).fill(-1),
    // prev needs no clearing: a link is only ever read at a position this index inserted
    prev: tables.prev,
    looked: tables.looked.subarray(0, 1 << Math.max(0, bits - 5)).fill(0),
  };
}

/**
 * The source indexed by the hash of every 8-byte window (runs of one byte: their first window
 * only) whose hash bucket some window of the target also falls in (outside twin blocks, when
 * given): a lookup only ever walks the buckets of target windows, so leaving the others out
 * changes no chain a lookup outside a twin block sees and spares most of the random writes into
 * the head table, which cost more than the rest of the index (a bit per bucket fits in the
 * cache; the head table does not).
 * `release` lends its arrays to the next index made on this thread; it must not be used after.
 */
export class SourceIndex {
  private readonly head: Int32Array;
  private readonly prev: Int32Array;
  private readonly shift: number;
  private tables: IndexTables | undefined;

  /**
   * `twins` (twinBlocks of the same pair, optional): target windows that start in a block with
   * a twin mark no bucket, since the scan finds those blocks through their twin; a lookup at such
   * a window may then miss source windows of its bucket.
   */
  constructor(source: Uint8Array, target: Uint8Array, twins?: Int32Array) {
    const bits = Math.max(12, Math.min(MAX_HEAD_BITS, Math.ceil(Math.log2(Math.max(2, source.length)))));
    this.shift = 32 - bits;
    this.tables = takeTables(bits, source.length);
    const { head, prev, looked } = indexViews(this.tables, bits);
    this.head = head;
    this.prev = prev;
    const targetWords = viewOf(target);
    for (let i = 0; i + SEED_BYTES <= target.length; i++) {
      if (twins !== undefined && (twins[i >>> TWIN_BLOCK_SHIFT] ?? -1) >= 0) {
        i |= TWIN_BLOCK_BYTES - 1; // the block's last window; the loop steps to the next block
        continue;
      }
      const h = hash8(targetWords, i, this.shift);
      looked[h >>> 5]! |= 1 << (h & 31);
    }
    // In batches: first the windows to insert (hash, bucket test, run test), without a branch
    // (each window is written to the batch, and the count moves on only for one to keep: the
    // tests mispredicted often; 16-25 % less index time than with them, on the chunk pairs of
    // five 64 MiB bench pairs), then their inserts in a loop without branches, whose random head
    // reads and writes the processor can then overlap (a third less time than one loop doing
    // both, on 4 MiB sources of the bench pairs). The same chains, in the same order.
    const words = viewOf(source);
    const { positions, buckets } = insertBatch;
    const shift = this.shift;
    const end = source.length - SEED_BYTES + 1;
    // The previous window's first word: inside a run of one repeated byte every window is the
    // same, and only the run's first is kept. Window 0 has none (a value unlike its own).
    let lastLo = end > 0 ? ~words.getInt32(0, true) : 0;
    for (let from = 0; from < end; from += INSERT_BATCH_WINDOWS) {
      const to = Math.min(end, from + INSERT_BATCH_WINDOWS);
      let count = 0;
      for (let i = from; i < to; i++) {
        const lo = words.getInt32(i, true);
        const hi = words.getInt32(i + 4, true);
        const h = hashWords(lo, hi, shift);
        const wanted = (looked[h >>> 5]! >>> (h & 31)) & 1;
        // This window is one byte repeated (both words the same byte) and so was the last one.
        const runGoesOn = (lo === hi ? 1 : 0) & (lo === ((lo >>> 8) | (lo << 24)) ? 1 : 0) & (lo === lastLo ? 1 : 0);
        lastLo = lo;
        positions[count] = i;
        buckets[count] = h;
        count += wanted & (runGoesOn ^ 1);
      }
      for (let k = 0; k < count; k++) {
        const h = buckets[k]!;
        const i = positions[k]!;
        prev[i] = head[h]!;
        head[h] = i;
      }
    }
  }

  /** Hands this index's arrays to the next index made on this thread; this one is done. */
  release(): void {
    if (this.tables) spareTables = this.tables;
    this.tables = undefined;
  }

  /** The hash bucket of the 8-byte window of `data` (a DataView over it) at `at`. */
  bucketOf(data: DataView, at: number): number {
    return hash8(data, at, this.shift);
  }

  /** Positions whose window hashes like `data` (a view: viewOf) at `at`, most recent first (-1 ends). */
  first(data: DataView, at: number): number {
    return this.head[hash8(data, at, this.shift)] as number;
  }

  /** The position after `position` in its chain (-1 ends). */
  next(position: number): number {
    return this.prev[position] as number;
  }
}

/**
 * For each whole TWIN_BLOCK_BYTES block of `target`, the offset of an equal aligned block of
 * `source`, or -1. The block after the previous target block's twin is preferred when it is
 * equal (a run of unchanged blocks stays on one diagonal), else the first equal one. Blocks are
 * found by a hash of their words and then compared, so a hash collision only loses a twin.
 */
export function twinBlocks(source: Uint8Array, target: Uint8Array): Int32Array {
  const twins = new Int32Array(Math.floor(target.length / TWIN_BLOCK_BYTES)).fill(-1);
  const sourceBlocks = Math.floor(source.length / TWIN_BLOCK_BYTES);
  if (twins.length === 0 || sourceBlocks === 0) return twins;
  const sourceWords = viewOf(source);
  const targetWords = viewOf(target);
  const firstByHash = new Map<number, number>();
  for (let at = (sourceBlocks - 1) * TWIN_BLOCK_BYTES; at >= 0; at -= TWIN_BLOCK_BYTES)
    firstByHash.set(blockHash(sourceWords, at), at); // from the end: the first equal block stays
  const sourceBytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const targetBytes = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
  const equal = (from: number, at: number) =>
    targetBytes.compare(sourceBytes, from, from + TWIN_BLOCK_BYTES, at, at + TWIN_BLOCK_BYTES) === 0;
  for (let block = 0; block < twins.length; block++) {
    const at = block * TWIN_BLOCK_BYTES;
    const following = block > 0 && twins[block - 1]! >= 0 ? twins[block - 1]! + TWIN_BLOCK_BYTES : -1;
    if (following >= 0 && following + TWIN_BLOCK_BYTES <= source.length && equal(following, at)) {
      twins[block] = following;
      continue;
    }
    const from = firstByHash.get(blockHash(targetWords, at));
    if (from !== undefined && equal(from, at)) twins[block] = from;
  }
  return twins;
}

/** A hash of the TWIN_BLOCK_BYTES bytes of `data` (a view: viewOf) at `at`. */
function blockHash(data: DataView, at: number): number {
  let h = 0;
  for (let i = 0; i < TWIN_BLOCK_BYTES; i += 4) h = (Math.imul(h ^ data.getInt32(at + i, true), 0x9e3779b1) + i) | 0;
  return h;
}

/** A DataView over `data`'s bytes, for hash8. */
function viewOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** The hash of the 8 bytes at `at` (two little-endian 32-bit words, read whole). */
function hash8(data: DataView, at: number, shift: number): number {
  return hashWords(data.getInt32(at, true), data.getInt32(at + 4, true), shift);
}

/** hash8 of a window whose two little-endian words are `lo` and `hi`. */
function hashWords(lo: number, hi: number, shift: number): number {
  return (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ (lo >>> 15), 0x85ebca77)) >>> shift;
}

/** A run known to match: target[start, end) equals source at the same positions + offset. */
interface KnownRun {
  offset: number;
  start: number;
  end: number;
  /** The run cannot be longer (a mismatch or an input's end follows), not just cut by a cap. */
  exact: boolean;
}

/** Growable byte buffer for the control block. */
class ControlWriter {
  private bytes = new Uint8Array(CTRL_TUPLE_BYTES * 64);
  private length = 0;
  /** The last tuple's extra length and seek. */
  private lastCopy = 0;
  private lastSeek = 0;

  push(add: number, copy: number, seek: number): void {
    if (this.length + CTRL_TUPLE_BYTES > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    writeOfft(this.bytes, this.length, add);
    writeOfft(this.bytes, this.length + 8, copy);
    writeOfft(this.bytes, this.length + 16, seek);
    this.length += CTRL_TUPLE_BYTES;
    this.lastCopy = copy;
    this.lastSeek = seek;
  }

  /** Tuples pushed so far. */
  get count(): number {
    return this.length / CTRL_TUPLE_BYTES;
  }

  /** Adds to the last tuple's extra length and seek. */
  amendLast(moreExtra: number, moreSeek: number): void {
    const at = this.length - CTRL_TUPLE_BYTES;
    writeOfft(this.bytes, at + 8, (this.lastCopy += moreExtra));
    writeOfft(this.bytes, at + 16, (this.lastSeek += moreSeek));
  }

  done(): Buffer {
    return Buffer.from(this.bytes.buffer, 0, this.length);
  }
}

/**
 * Whether a cover of `addBytes` earns its control tuple, rather than its new bytes going to the
 * extra block: a short cover costs a tuple (24 bytes, a few once compressed) to spare fewer
 * literal bytes than that. Measured with bsdiff-lzma on the largest 2 MiB chunks of the bench
 * pairs, folding covers of at most 24 bytes made the patches 0.6 % (patch-64), 1.0 % (blob-64),
 * 2.2 % (arm64-64), 3.0 % (patch-256) and 4.0 % (major-64) smaller; 8, 16, 32, 48 and 64 bytes
 * gained less. Also folding covers with more than a quarter of their bytes changed gained
 * another 3 % on patch-256 but lost 1-5 % on the others.
 */
function worthACover(addBytes: number): boolean {
  return addBytes > FOLD_MAX_ADD_BYTES;
}

/**
 * The control, diff and extra blocks that turn `source` into `target`, by bsdiff's scan.
 * Deterministic. Memory: 4 bytes per source byte (chain links) + a head table of ≤ 8 x source
 * (at most 16 MiB) and a bit per head entry, both kept for the thread's next index (spareTables)
 * + 2 x target (diff and extra blocks) + the control block (24 bytes a cover) + the twins (4 bytes
 * per target block, a map entry per source block).
 */
export function matchBsdiff(source: Uint8Array, target: Uint8Array): BsdiffStreams {
  const twins = twinBlocks(source, target);
  const index = new SourceIndex(source, target, twins);
  try {
    return matchWith(index, twins, source, target);
  } finally {
    index.release();
  }
}

/** matchBsdiff's scan over `index`. */
function matchWith(index: SourceIndex, twins: Int32Array, source: Uint8Array, target: Uint8Array): BsdiffStreams {
  const oldSize = source.length;
  const newSize = target.length;
  const sourceWords = viewOf(source);
  const targetWords = viewOf(target);
  const ctrl = new ControlWriter();
  const diff = Buffer.alloc(newSize);
  const extra = Buffer.alloc(newSize);
  let diffLength = 0;
  let extraLength = 0;

  let scan = 0;
  let len = 0;
  let pos = 0;
  let lastScan = 0;
  let lastPos = 0;
  let lastOffset = 0;
  let workLeft = WORK_PER_BYTE * (newSize + 4096);
  const known: KnownRun[] = Array.from({ length: REMEMBERED_DIAGONALS }, () => ({
    offset: 0,
    start: 0,
    end: 0,
    exact: true,
  }));
  let nextKnown = 0;

  // Length of the match of source[p..] and target[scan..], capped; reuses a remembered run on
  // the same diagonal and charges every compare to the work budget.
  const measure = (p: number): number => {
    const bound = Math.min(oldSize - p, newSize - scan);
    const cap = Math.min(bound, workLeft > 0 ? MAX_MATCH_BYTES : FALLBACK_MATCH_BYTES);
    let n = 0;
    for (const run of known) {
      if (run.offset === p - scan && scan >= run.start && scan < run.end) {
        n = Math.min(run.end - scan, cap);
        if (run.exact || n === cap) return n;
        break;
      }
    }
    const from = n;
    // Four bytes at a time while they agree, then byte by byte to the first difference.
    while (n + 4 <= cap && sourceWords.getInt32(p + n) === targetWords.getInt32(scan + n)) n += 4;
    while (n < cap && source[p + n] === target[scan + n]) n++;
    workLeft -= n - from + 1;
    const run = known[nextKnown]!;
    nextKnown = (nextKnown + 1) % REMEMBERED_DIAGONALS;
    run.offset = p - scan;
    run.start = scan;
    run.end = scan + n;
    run.exact = n < cap || cap === bound;
    return n;
  };

  // The longest match for target[scan..]: the extrapolated position first, then the twin of
  // scan's block, then the hash chain.
  const search = (): void => {
    len = 0;
    pos = 0;
    const extrapolated = scan + lastOffset;
    if (extrapolated >= 0 && extrapolated < oldSize) {
      len = measure(extrapolated);
      pos = extrapolated;
    }
    const twin = twins[scan >>> TWIN_BLOCK_SHIFT] ?? -1;
    if (twin >= 0 && len < MAX_MATCH_BYTES) {
      const p = twin + (scan & (TWIN_BLOCK_BYTES - 1));
      const n = p === extrapolated ? 0 : measure(p);
      if (n > len) {
        len = n;
        pos = p;
      }
    }
    if (scan + SEED_BYTES > newSize || len >= MAX_MATCH_BYTES) return;
    const maxChain = workLeft > 0 ? MAX_CHAIN : 1;
    let tried = 0;
    for (let p = index.first(targetWords, scan); p >= 0 && tried < maxChain; p = index.next(p), tried++) {
      // Cheap reject: a longer match must agree at the current best length.
      if (len > 0 && (p + len >= oldSize || source[p + len] !== target[scan + len])) continue;
      const n = measure(p);
      if (n > len) {
        len = n;
        pos = p;
        if (len >= MAX_MATCH_BYTES) return;
      }
    }
  };

  while (scan < newSize) {
    let oldScore = 0;
    let scsc = (scan += len);
    for (; scan < newSize; scan++) {
      search();
      for (; scsc < scan + len; scsc++) {
        if (scsc + lastOffset < oldSize && scsc + lastOffset >= 0 && source[scsc + lastOffset] === target[scsc])
          oldScore++;
      }
      if ((len === oldScore && len !== 0) || len > oldScore + MIN_GAIN_BYTES) break;
      if (scan + lastOffset < oldSize && scan + lastOffset >= 0 && source[scan + lastOffset] === target[scan])
        oldScore--;
    }
    if (len === oldScore && scan !== newSize) continue;

    // Extend the last cover forwards while at least half its bytes match.
    let s = 0;
    let best = 0;
    let lenF = 0;
    const extensionCap = workLeft > 0 ? Infinity : FALLBACK_EXTENSION_BYTES;
    let i = 0;
    for (; lastScan + i < scan && lastPos + i < oldSize && i < extensionCap;) {
      if (source[lastPos + i] === target[lastScan + i]) s++;
      i++;
      if (s * 2 - i > best * 2 - lenF) {
        best = s;
        lenF = i;
      }
    }
    workLeft -= i;
    // Extend the new match backwards the same way.
    let lenB = 0;
    if (scan < newSize) {
      s = 0;
      best = 0;
      for (i = 1; scan >= lastScan + i && pos >= i && i <= extensionCap; i++) {
        if (source[pos - i] === target[scan - i]) s++;
        if (s * 2 - i > best * 2 - lenB) {
          best = s;
          lenB = i;
        }
      }
      workLeft -= i;
    }
    // Where the two extensions overlap, split at the point that keeps the most matching bytes.
    if (lastScan + lenF > scan - lenB) {
      const overlap = lastScan + lenF - (scan - lenB);
      s = 0;
      best = 0;
      let lenS = 0;
      for (let i = 0; i < overlap; i++) {
        if (target[lastScan + lenF - overlap + i] === source[lastPos + lenF - overlap + i]) s++;
        if (target[scan - lenB + i] === source[pos - lenB + i]) s--;
        if (s > best) {
          best = s;
          lenS = i + 1;
        }
      }
      lenF += lenS - overlap;
      lenB -= lenS;
    }

    const extraBytes = scan - lenB - (lastScan + lenF);
    const seek = pos - lenB - (lastPos + lenF);
    if (ctrl.count > 0 && !worthACover(lenF)) {
      // The cover's new bytes go to the extra block after the previous cover's, whose seek
      // steps over the source bytes this cover would have read.
      extra.set(target.subarray(lastScan, scan - lenB), extraLength);
      extraLength += lenF + extraBytes;
      ctrl.amendLast(lenF + extraBytes, lenF + seek);
    } else {
      for (let i = 0; i < lenF; i++)
        diff[diffLength + i] = ((target[lastScan + i] as number) - (source[lastPos + i] as number)) & 0xff;
      diffLength += lenF;
      extra.set(target.subarray(lastScan + lenF, scan - lenB), extraLength);
      extraLength += extraBytes;
      ctrl.push(lenF, extraBytes, seek);
    }

    lastScan = scan - lenB;
    lastPos = pos - lenB;
    lastOffset = pos - scan;
  }
  return { ctrl: ctrl.done(), diff: diff.subarray(0, diffLength), extra: extra.subarray(0, extraLength) };
}
