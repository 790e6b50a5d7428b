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
