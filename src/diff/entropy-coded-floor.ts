// A floor under what a general-purpose codec (xz, zstd, brotli) makes of a chunk that holds
// deflate streams: the bytes already entropy-coded, each piece counted once. That is the streams'
// bytes coded by Huffman trees fitted to them, and the stretches between them whose bytes are near
// uniform (stored members of compressed files: images, media, archives). Such data gives an
// LZ/entropy coder next to nothing, except where the same bytes repeat (identical members in
// several archives, or streams that start alike): repeats count once here. Build side only.

/** A reproduced deflate stream of the chunk: where it is and how many of its bytes are not fitted-coded. */
export interface CodedStream {
  readonly startByte: number;
  readonly deflatedBytes: number;
  /** Bytes in stored or fixed-code blocks (a codec may still shrink them): never counted. */
  readonly uncodedBytes: number;
}

/**
 * Repeats are looked for in pieces of this size aligned to each stream's start: streams of alike
 * content share their bytes up to their first differing block, where a codec's matches end too (a
 * deflate block's bits depend on its content and where it starts). A shared prefix then counts
 * once but for less than one piece. Between streams, pieces are cut by content (forEachContentPiece).
 */
const PIECE_BYTES = 64;

/**
 * Most a general-purpose codec takes off such bytes, as a share: xz -9e (and zstd -19 --long) of
 * the deflate streams of the bench's apk-64 chunks came to at most 1.8 % under the bytes counted
 * here, and of the windows counted between them (stored members of compressed files) under
 * 0.1 %; over four times the larger for margin. Structured binary with short repeats (hash
 * tables, verity trees) is kept out by the window test (ENTROPY_CODED_BITS and
 * MAX_REPEATED_WORDS), not by this margin.
 */
const MAX_CODEC_GAIN_SHARE = 0.08;

/**
 * The bytes between streams are judged in windows of this size (from each stretch's start; a
 * shorter tail counts as nothing): long enough to tell near-uniform bytes from text by their byte
 * counts, short enough that a stored image next to stored text is told apart.
 */
const WINDOW_BYTES = 16 * 1024;

/**
 * Order-0 entropy, in bits per byte, from which a window between streams may count as
 * entropy-coded: coding its bytes by their counts takes at most 1.25 % off it. (16 KiB of random
 * bytes measure ~7.99, PNG files 7.93-7.96, the stored members of the bench's apk-64 image
 * 7.95-8.00; text 4-6, x86-64 code 4.5-6.5.)
 */
const ENTROPY_CODED_BITS = 7.9;

/**
 * Most of a window's 2,048 aligned 8-byte words that may equal an earlier one of the window for it
 * to count: compressed data repeats none (two equal random 64-bit words in a window: ~1e-13), while
 * records with repeated fields (a verity tree's hashes of zero blocks, tables of keys) repeat many,
 * and a codec takes those off even where the byte counts look uniform.
 */
const MAX_REPEATED_WORDS = 8;

/**
 * Bytes under which no general-purpose codec is expected to bring `data` (an empirical floor: repeats
 * at other alignments, skewed codes and higher-order contexts are not modelled; MAX_CODEC_GAIN_SHARE
 * is the measured margin for them): the fitted-coded bytes of `streams` (in `data`, in order),
 * stored and fixed-code blocks never counted, and the windows between them (WINDOW_BYTES) of
 * order-0 entropy at least ENTROPY_CODED_BITS and at most MAX_REPEATED_WORDS repeated words;
 * pieces repeated anywhere counted once, less MAX_CODEC_GAIN_SHARE. Other bytes count as nothing.
 */
export function entropyCodedFloorBytes(data: Uint8Array, streams: readonly CodedStream[]): number {
  const seen = new Set<number>();
  /** True for the first piece with the bytes of data[from, to) (a hash collision: false, a lower floor). */
  const firstOfItsKind = (from: number, to: number): boolean => {
    const key = pieceHash(data, from, to);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  let codedBytes = 0;
  let gapStart = 0;
  const gap = (end: number): void => {
    if (end - gapStart < WINDOW_BYTES) return;
    const start = gapStart;
    const coded = new Uint8Array(Math.floor((end - start) / WINDOW_BYTES));
    for (let w = 0; w < coded.length; w++) if (isEntropyCoded(data, start + w * WINDOW_BYTES)) coded[w] = 1;
    if (!coded.includes(1)) return;
    // Pieces cut by content, so a stored file's copy at another offset cuts alike; only a piece's
    // bytes inside counted windows count (a piece spans at most two windows).
    forEachContentPiece(data, start, end, (from, to) => {
      const w = Math.floor((from - start) / WINDOW_BYTES);
      const windowEnd = start + (w + 1) * WINDOW_BYTES;
      const inside =
        (coded[w] === 1 ? Math.min(to, windowEnd) - from : 0) +
        (to > windowEnd && coded[w + 1] === 1 ? to - windowEnd : 0);
      if (inside > 0 && firstOfItsKind(from, to)) codedBytes += inside;
    });
  };
  for (const s of streams) {
    gap(s.startByte);
    const streamEnd = s.startByte + s.deflatedBytes;
    let streamBytes = 0;
    for (let at = s.startByte; at < streamEnd; at += PIECE_BYTES) {
      const to = Math.min(streamEnd, at + PIECE_BYTES);
      if (firstOfItsKind(at, to)) streamBytes += to - at;
    }
    // Uncoded blocks may sit in the unique pieces: none of their bytes count.
    codedBytes += Math.max(0, streamBytes - s.uncodedBytes);
    gapStart = Math.max(gapStart, streamEnd);
  }
  gap(data.length);
  return Math.floor(codedBytes * (1 - MAX_CODEC_GAIN_SHARE));
}

/**
 * Whether the window of WINDOW_BYTES at `at` counts as entropy-coded: order-0 entropy at least
 * ENTROPY_CODED_BITS and at most MAX_REPEATED_WORDS aligned 8-byte words repeated within it.
 */
function isEntropyCoded(data: Uint8Array, at: number): boolean {
  if (order0BitsPerByte(data, at, at + WINDOW_BYTES) < ENTROPY_CODED_BITS) return false;
  const view = new DataView(data.buffer, data.byteOffset + at, WINDOW_BYTES);
  const words = new Set<number>();
  let repeated = 0;
  for (let i = 0; i + 8 <= WINDOW_BYTES; i += 8) {
    // 44 of the word's 64 bits: a collision only counts a repeat, which keeps the window out.
    const key = view.getUint32(i, true) * 4096 + (view.getUint32(i + 4, true) >>> 20);
    if (words.has(key) && ++repeated > MAX_REPEATED_WORDS) return false;
    words.add(key);
  }
  return true;
}

/** A gear table (one pseudo-random 32-bit value per byte) for the content-defined cuts. */
const GEAR = Int32Array.from({ length: 256 }, (_, i) => {
  // murmur3's finalizer of i + 1: every bit of every entry depends on all of i's bits.
  let x = Math.imul((i + 1) ^ ((i + 1) >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
});

/** Top bits of the gear hash that must be zero for a cut: one position in PIECE_BYTES. */
const CUT_SHIFT = 32 - Math.log2(PIECE_BYTES);

/**
 * Cuts data[from, to) into pieces where a gear hash of the last 32 bytes has its top bits zero
 * (FastCDC's test: about one cut in PIECE_BYTES, none closer than PIECE_BYTES / 4, and one forced
 * at 4 x PIECE_BYTES, so a run of one byte value is cut too), so alike bytes cut alike wherever
 * they sit (after their first cut).
 */
function forEachContentPiece(
  data: Uint8Array,
  from: number,
  to: number,
  visit: (from: number, to: number) => void,
): void {
  let h = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    h = ((h << 1) + GEAR[data[i]!]!) | 0;
    const length = i + 1 - start;
    if ((h >>> CUT_SHIFT === 0 && length >= PIECE_BYTES / 4) || length >= 4 * PIECE_BYTES) {
      visit(start, i + 1);
      start = i + 1;
    }
  }
  if (start < to) visit(start, to);
}

/** The order-0 (byte count) entropy of data[from, to), in bits per byte. */
function order0BitsPerByte(data: Uint8Array, from: number, to: number): number {
  const counts = new Float64Array(256);
  for (let i = from; i < to; i++) counts[data[i]!]!++;
  const n = to - from;
  let bits = 0;
  for (const c of counts) if (c > 0) bits -= c * Math.log2(c / n);
  return bits / n;
}

/** Two 26-bit FNV-1a style hashes of data[from, to) and its length, as one safe integer. */
function pieceHash(data: Uint8Array, from: number, to: number): number {
  let a = 0x811c9dc5 ^ (to - from);
  let b = 0x01000193;
  for (let i = from; i < to; i++) {
    a = Math.imul(a ^ data[i]!, 0x01000193);
    b = Math.imul(b ^ data[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 6) * 0x4000000 + (b >>> 6);
}
