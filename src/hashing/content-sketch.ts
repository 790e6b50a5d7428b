// Content sketches of a full image's segments: a sample of the content's 8-byte shingles (chosen
// by their own hash, so alike content gives alike samples wherever it sits) and a coarse class
// (text, x86 code, other binary), and whether it is dense (already compressed). The planner
// gathers alike segments into one op; the encoding rules pick a codec by class. Pure: bytes in,
// numbers out.

/** What a segment's content is, coarsely: what the full-image rules and the planner key on. */
export type ContentClass = 'text' | 'x86' | 'binary';

/** A segment's sample and class. */
export interface SegmentSketch {
  /** Distinct sampled shingle hashes (about one per 64 bytes of nonzero content). */
  readonly samples: Int32Array;
  readonly contentClass: ContentClass;
  /**
   * The nonzero bytes' order-0 entropy is at least DENSE_BITS_PER_BYTE: compressed data (deflated
   * zip members, images), which a wider LZMA context does not shrink.
   */
  readonly dense: boolean;
}

/**
 * Entropy (bits per byte) from which a segment is dense. Deflate streams measure ~7.9-8.0 on
 * 64 KiB; x86-64 and AArch64 code 5.5-7, text 4-5.5.
 */
const DENSE_BITS_PER_BYTE = 7.5;

/** Share of nonzero bytes that are printable ASCII or whitespace from which content counts as text. */
const TEXT_SHARE = 0.85;
/** x86 rel32 near branches (E8/E9 within ±16 MiB) per 4 KiB of nonzero bytes that mark x86 code. */
const X86_BRANCHES_PER_4K = 12;
/** A shingle is sampled when the top SAMPLE_BITS of its mixed hash are zero (1 in 64). */
const SAMPLE_SHIFT = 32 - 6;

function gear(): Int32Array {
  const t = new Int32Array(256);
  let x = 12345;
  for (let i = 0; i < 256; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    t[i] = (x ^ (x >>> 13) ^ Math.imul(x, 2654435761)) | 0;
  }
  return t;
}
const GEAR = gear();

/** Counts of the byte kinds a class is decided by. */
interface ByteCounts {
  nonzero: number;
  printable: number;
  x86Branches: number;
}

function classOf(c: ByteCounts): ContentClass {
  if (c.nonzero === 0 || c.printable >= c.nonzero * TEXT_SHARE) return 'text';
  return c.x86Branches * 4096 >= X86_BRANCHES_PER_4K * c.nonzero ? 'x86' : 'binary';
}

function isPrintable(b: number): boolean {
  return (b >= 32 && b < 127) || b === 10 || b === 9 || b === 13;
}

function countBytes(data: Uint8Array, onByte?: (i: number, b: number) => void): ByteCounts {
  const c: ByteCounts = { nonzero: 0, printable: 0, x86Branches: 0 };
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    onByte?.(i, b);
    if (b === 0) continue;
    c.nonzero++;
    if (isPrintable(b)) c.printable++;
    else if ((b === 0xe8 || b === 0xe9) && i + 5 <= n) {
      // rel32 within ±16 MiB: the top 7 bits of the little-endian displacement all equal.
      const rel = data[i + 1]! | (data[i + 2]! << 8) | (data[i + 3]! << 16) | (data[i + 4]! << 24);
      if (((rel + 0x01000000) & 0xfe000000) === 0) c.x86Branches++;
    }
  }
  return c;
}

/** The class of `data` (one pass). */
export function contentClassOf(data: Uint8Array): ContentClass {
  return classOf(countBytes(data));
}

/** The sample, class and density of one segment (one pass). */
export function sketchSegment(data: Uint8Array): SegmentSketch {
  const seen = new Set<number>();
  const histogram = new Float64Array(256);
  let h = 0;
  const counts = countBytes(data, (i, b) => {
    histogram[b]!++;
    h = ((h << 4) + GEAR[b]!) | 0;
    if (i >= 7 && b !== 0 && Math.imul(h, 0x9e3779b1) >>> SAMPLE_SHIFT === 0) seen.add(h);
  });
  return {
    samples: Int32Array.from(seen),
    contentClass: classOf(counts),
    dense: nonzeroEntropyBits(histogram, counts.nonzero) >= DENSE_BITS_PER_BYTE,
  };
}

/** Order-0 entropy (bits per byte) of the `nonzero` bytes counted in `histogram` (0 when none). */
function nonzeroEntropyBits(histogram: Float64Array, nonzero: number): number {
  let bits = 0;
  for (let b = 1; b < 256; b++) {
    const p = histogram[b]! / nonzero;
    if (p > 0) bits -= p * Math.log2(p);
  }
  return bits;
}
