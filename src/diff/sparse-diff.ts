// The sparse form of a bsdiff diff block: bsdiff's byte differences are mostly zero (a changed
// pointer here and there), so only the non-zero bytes are kept, each after the count of zeros
// before it. Owns the encoding and its bounded, canonical decoding. Pure: no I/O.
//
//   sparse = repeated (gap: varint, value: one non-zero byte)
//   dense  = for each pair, `gap` zero bytes then `value`; zeros after the last pair up to the
//            dense length the caller knows (the sum of the control block's add lengths)

import { blobDecodeError } from '../codecs/codec-errors.js';
import { readVarint, writeVarint } from './varint.js';

/** Largest sparse form of `denseBytes` bytes: a 1-byte gap and a value per byte. */
export function maxSparseBytes(denseBytes: number): number {
  return 2 * denseBytes;
}

/** The sparse form of `dense`. Deterministic; never longer than maxSparseBytes(dense.length). */
export function encodeSparseDiff(dense: Uint8Array): Buffer {
  // A gap's varint fits where its zero bytes were (a gap of g ≥ 1 zeros takes ≤ g bytes), so
  // 2 bytes per dense byte always hold the output.
  const out = Buffer.allocUnsafe(maxSparseBytes(dense.length));
  let at = 0;
  let gap = 0;
  for (let i = 0; i < dense.length; i++) {
    const value = dense[i] as number;
    if (value === 0) {
      gap++;
      continue;
    }
    at = writeVarint(out, at, gap);
    out[at++] = value;
    gap = 0;
  }
  return Buffer.from(out.subarray(0, at));
}

/** A sparse diff that checkSparseDiff accepted: the dense block of `denseBytes` it stands for. */
export interface CheckedSparseDiff {
  readonly sparse: Uint8Array;
  readonly denseBytes: number;
}

/**
 * Checks a sparse diff for a dense block of `denseBytes` exactly as expandSparseDiff does (same
 * refusals, same messages) without expanding it, so an applier can add its few non-zero bytes
 * onto the output (SparseDiffAdder) instead of allocating and walking the mostly-zero dense block.
 */
export function checkSparseDiff(what: string, sparse: Uint8Array, denseBytes: number): CheckedSparseDiff {
  let at = 0;
  let pos = 0;
  while (at < sparse.length) {
    // One-byte gaps (most of them) without readVarint's result object: millions per image.
    let gapValue = sparse[at] as number;
    if (gapValue < 0x80) at++;
    else {
      const gap = readVarint(sparse, at);
      if (typeof gap === 'string') throw blobDecodeError(what, `sparse diff: gap at offset ${at} is ${gap}`);
      gapValue = gap.value;
      at = gap.end;
    }
    if (at >= sparse.length) throw blobDecodeError(what, 'sparse diff: ends after a gap, before its value');
    const value = sparse[at++] as number;
    if (value === 0) throw blobDecodeError(what, `sparse diff: zero value at offset ${at - 1} (zeros belong in gaps)`);
    pos += gapValue;
    if (pos >= denseBytes)
      throw blobDecodeError(what, `sparse diff: byte at ${pos} is past the ${denseBytes}-byte diff block`);
    pos++;
  }
  return { sparse, denseBytes };
}

/**
 * Adds a checked sparse diff onto output bytes in dense order: each `addRange` covers the next
 * dense positions (ranges must follow each other), as bsdiff's add steps consume the diff block.
 */
export class SparseDiffAdder {
  private at = 0; // next pair in the sparse bytes
  private nextPos = Infinity; // dense position of the next non-zero byte
  private nextValue = 0;
  private pos = 0; // dense position after the last pair read

  constructor(private readonly diff: CheckedSparseDiff) {
    this.advance();
  }

  /** Adds (mod 256) the diff bytes at dense positions [from, from + length) onto out[outAt …]. */
  addRange(out: Uint8Array, outAt: number, from: number, length: number): void {
    const end = from + length;
    while (this.nextPos < end) {
      const i = outAt + this.nextPos - from;
      out[i] = ((out[i] as number) + this.nextValue) & 0xff;
      this.advance();
    }
  }

  private advance(): void {
    const { sparse } = this.diff;
    if (this.at >= sparse.length) {
      this.nextPos = Infinity;
      return;
    }
    // Checked by checkSparseDiff: every varint is whole and every pair lies inside the block.
    const first = sparse[this.at] as number;
    let gap = first;
    let end = this.at + 1;
    if (first >= 0x80) ({ value: gap, end } = readVarint(sparse, this.at) as { value: number; end: number });
    this.nextPos = this.pos + gap;
    this.nextValue = sparse[end] as number;
    this.pos = this.nextPos + 1;
    this.at = end + 1;
  }
}

/**
 * Expands a sparse diff into exactly `denseBytes` bytes. Refuses (PackageFormatError
 * `BLOB_DECODE_FAILED`, labelled `what`) a truncated pair, an over-long varint, a zero value
 * (not canonical) and any byte placed at or past `denseBytes`. Memory: the dense output.
 */
export function expandSparseDiff(what: string, sparse: Uint8Array, denseBytes: number): Buffer {
  const dense = Buffer.alloc(denseBytes);
  let at = 0;
  let pos = 0;
  while (at < sparse.length) {
    const gap = readVarint(sparse, at);
    if (typeof gap === 'string') throw blobDecodeError(what, `sparse diff: gap at offset ${at} is ${gap}`);
    at = gap.end;
    if (at >= sparse.length) throw blobDecodeError(what, 'sparse diff: ends after a gap, before its value');
    const value = sparse[at++] as number;
    if (value === 0) throw blobDecodeError(what, `sparse diff: zero value at offset ${at - 1} (zeros belong in gaps)`);
    pos += gap.value;
    if (pos >= denseBytes)
      throw blobDecodeError(what, `sparse diff: byte at ${pos} is past the ${denseBytes}-byte diff block`);
    dense[pos++] = value;
  }
  return dense;
}
