// A floor under what a general-purpose codec (xz, zstd, brotli) makes of bytes that hold deflate
// streams: their bytes coded by Huffman trees fitted to them, each piece counted once. Such
// entropy-coded, bit-packed data gives an LZ/entropy coder next to nothing, except where the same
// bytes repeat (identical zip members in several archives, or streams that start alike): repeats
// count once here. Build side only.

/** A reproduced deflate stream of the chunk: where it is and how many of its bytes are not fitted-coded. */
export interface CodedStream {
  readonly startByte: number;
  readonly deflatedBytes: number;
  /** Bytes in stored or fixed-code blocks (a codec may still shrink them): never counted. */
  readonly uncodedBytes: number;
}

/**
 * Repeats are looked for in pieces of this size aligned to each stream's start: streams of alike
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
 * Bytes under which no general-purpose codec is expected to bring `data` (an empirical floor: repeats
 * at other alignments and skewed codes are not modelled; MAX_CODEC_GAIN_SHARE is the measured
 * margin for them): the fitted-coded bytes of `streams`
 * (in `data`), pieces repeated across or within streams counted once, stored and fixed-code blocks
 * never counted, less MAX_CODEC_GAIN_SHARE. The bytes outside the streams count as nothing.
 */
export function huffmanCodedFloorBytes(data: Uint8Array, streams: readonly CodedStream[]): number {
  const seen = new Set<number>();
  let codedBytes = 0;
  for (const s of streams) {
    let unique = 0;
    for (let at = 0; at < s.deflatedBytes; at += PIECE_BYTES) {
      const end = Math.min(s.deflatedBytes, at + PIECE_BYTES);
      // A hash collision only counts a piece as repeated: the floor gets lower, never higher.
      const key = pieceHash(data, s.startByte + at, s.startByte + end);
      if (seen.has(key)) continue;
      seen.add(key);
      unique += end - at;
    }
    // Uncoded blocks may sit in the unique pieces: none of their bytes count.
    codedBytes += Math.max(0, unique - s.uncodedBytes);
  }
  return Math.floor(codedBytes * (1 - MAX_CODEC_GAIN_SHARE));
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
