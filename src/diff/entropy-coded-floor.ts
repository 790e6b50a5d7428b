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
 * Repeats are looked for in pieces of this size aligned to each stream's start (between streams,
 * cut by content, of this size on average): streams of alike
 * content share their bytes up to their first differing block, where a codec's matches end too
 * (a deflate block's bits depend on its content and where it starts). A shared prefix then counts
 * once but for less than one piece.
 */
const PIECE_BYTES = 64;

/**
 * Most a general-purpose codec takes off such bytes, as a share: xz -9e (and zstd -19 --long) of
 * the deflate streams of the bench's apk-64 chunks came to at most 1.8 % under the bytes counted
 * here; over four times that for margin.
 */
const MAX_CODEC_GAIN_SHARE = 0.08;

/**
 * The bytes between streams are judged in windows of this size (from each stretch's start; a
 * shorter tail counts as nothing): long enough to tell near-uniform bytes from text by their byte
 * counts, short enough that a stored image next to stored text is told apart.
 */
const WINDOW_BYTES = 16 * 1024;

/**
 * Order-0 entropy, in bits per byte, from which a window between streams counts as entropy-coded:
 * coding its bytes by their counts takes at most 1.25 % off it. (16 KiB of random bytes measure
 * ~7.99, PNG files 7.93-7.96, the stored members of the bench's apk-64 image 7.95-8.00; text 4-6,
 * x86-64 code 4.5-6.5.)
 */
const ENTROPY_CODED_BITS = 7.9;

/**
 * Bytes under which no general-purpose codec is expected to bring `data` (an empirical floor: repeats
 * at other alignments, skewed codes and higher-order contexts are not modelled; MAX_CODEC_GAIN_SHARE
 * is the measured margin for them): the fitted-coded bytes of `streams` (in `data`, in order),
 * stored and fixed-code blocks never counted, and the windows between them (WINDOW_BYTES) whose
 * order-0 entropy is at least ENTROPY_CODED_BITS; pieces repeated anywhere counted once,
 * less MAX_CODEC_GAIN_SHARE. Other bytes outside the streams count as nothing.
 */
export function entropyCodedFloorBytes(data: Uint8Array, streams: readonly CodedStream[]): number {
  const seen = new Set<number>();
  /** Bytes of the piece data[from, to) when no piece like it was counted before, else 0. */
  const unique = (from: number, to: number): number => {
    // A hash collision only counts a piece as repeated: the floor gets lower, never higher.
    const key = pieceHash(data, from, to);
    if (seen.has(key)) return 0;
    seen.add(key);
    return to - from;
  };
  let codedBytes = 0;
  let gapStart = 0;
  const gap = (end: number): void => {
    const windows = Math.floor((end - gapStart) / WINDOW_BYTES);
    const coded = new Uint8Array(windows);
    for (let w = 0; w < windows; w++) {
      const at = gapStart + w * WINDOW_BYTES;
      if (order0BitsPerByte(data, at, at + WINDOW_BYTES) >= ENTROPY_CODED_BITS) coded[w] = 1;
    }
    if (!coded.includes(1)) return;
    // Pieces cut by content: a stored file's copy elsewhere (at another offset) cuts alike.
    forEachContentPiece(data, gapStart, end, (from, to) => {
      if (coded[Math.floor((from - gapStart) / WINDOW_BYTES)] === 1) codedBytes += unique(from, to);
    });
  };
  for (const s of streams) {
    gap(s.startByte);
    let streamBytes = 0;
    for (let at = s.startByte; at < s.startByte + s.deflatedBytes; at += PIECE_BYTES)
      streamBytes += unique(at, Math.min(s.startByte + s.deflatedBytes, at + PIECE_BYTES));
    // Uncoded blocks may sit in the unique pieces: none of their bytes count.
    codedBytes += Math.max(0, streamBytes - s.uncodedBytes);
    gapStart = Math.max(gapStart, s.startByte + s.deflatedBytes);
  }
  gap(data.length);
  return Math.floor(codedBytes * (1 - MAX_CODEC_GAIN_SHARE));
}

/** A gear table (one pseudo-random 32-bit value per byte) for the content-defined cuts. */
const GEAR = Int32Array.from({ length: 256 }, (_, i) => {
  // murmur3's finalizer of i + 1: every bit of every entry depends on all of i's bits.
  let x = Math.imul((i + 1) ^ ((i + 1) >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
});

/**
 * Cuts data[from, to) into pieces where a gear hash of the bytes before meets a mask (about one cut
 * in PIECE_BYTES; none closer than PIECE_BYTES / 4), so alike bytes cut alike wherever they sit.
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
    if ((h & (PIECE_BYTES - 1)) === 0 && i + 1 - start >= PIECE_BYTES / 4) {
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
