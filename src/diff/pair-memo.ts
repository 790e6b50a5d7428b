// PairMemo: what pure, deterministic work made from one (source, target) pair of bytes, kept for
// the next call on EQUAL bytes. The differs of one chunk repeat work on the same pair: a
// content-aware differ that finds nothing to transform diffs the plain bytes with bsdiff-lzma
// again, and the bsdiff scan of a pair is what every bsdiff-lzma based differ starts from.
// Entries keep private copies of both inputs (compared byte for byte on every lookup), so a hit
// never depends on buffer identity or on what a caller did to its buffers. Memory: at most
// MAX_ENTRIES pairs of ≤ MAX_PAIR_BYTES inputs, each copied into buffers of at most twice its
// bytes (reused from the pair it evicts), plus their results, per thread.

import { matchBsdiff } from './bsdiff-matcher.js';
import type { BsdiffLzmaBlock } from './bsdiff-lzma-patch.js';
import type { BsdiffStreams } from './bsdiff-patch.js';
import { encodeSparseDiff } from './sparse-diff.js';

/** Pairs remembered (most recent first): one chunk's plain pair and one transformed pair. */
const MAX_ENTRIES = 2;
/** Larger pairs are not remembered (source + target bytes). */
const MAX_PAIR_BYTES = 24 * 1024 * 1024;

/** Results kept for one pair; each slot is filled by the code that computes it. */
export interface PairResults {
  /** matchBsdiff(source, target): read-only to every user. */
  streams?: BsdiffStreams;
  /** The bsdiff-lzma patch; callers get a copy (candidates' buffers are transferred between threads). */
  bsdiffLzma?: Promise<Buffer>;
  /**
   * The control and extra blocks of `streams`, LZMA2-packed as bsdiff-lzma packs them: a differ
   * that keeps those blocks and changes only the diff block (exec-aware) packs them once.
   */
  packedCtrl?: Promise<BsdiffLzmaBlock>;
  packedExtra?: Promise<BsdiffLzmaBlock>;
  /** encodeSparseDiff(streams.diff): read-only to every user (sparseDiffShared). */
  sparse?: Buffer;
  /**
   * `sparse`, packed the same way: filled by bsdiff-lzma, or by a differ whose diff block is
   * byte-equal to `streams.diff` (exec-aware where adjusting changed no byte).
   */
  packedSparse?: Promise<BsdiffLzmaBlock>;
}

interface Entry {
  /** Copies of the pair's bytes: views of the fronts of `storage`. */
  readonly source: Buffer;
  readonly target: Buffer;
  readonly results: PairResults;
  /** The buffers the copies live in, handed to the entry that replaces this one. */
  readonly storage: { readonly source: Buffer; readonly target: Buffer };
}

/** A small most-recently-used memo keyed by the bytes of a (source, target) pair. */
export class PairMemo {
  private entries: Entry[] = [];

  /**
   * The results slot of the pair with these bytes (created empty when new), or undefined when the
   * pair is too large to remember. Costs one compare per remembered pair of the same lengths,
   * and a copy of both inputs when the pair is new: into the buffers of the entry it evicts when
   * they are large enough (new buffers of a few MiB cost more in page faults than the copy).
   */
  resultsOf(source: Uint8Array, target: Uint8Array): PairResults | undefined {
    if (source.length + target.length > MAX_PAIR_BYTES) return undefined;
    const i = this.entries.findIndex((e) => sameBytes(e.source, source) && sameBytes(e.target, target));
    if (i >= 0) {
      const hit = this.entries.splice(i, 1)[0]!;
      this.entries.unshift(hit);
      return hit.results;
    }
    const evicted = this.entries.length >= MAX_ENTRIES ? this.entries.pop() : undefined;
    const storage = {
      source: reusable(evicted?.storage.source, source.length),
      target: reusable(evicted?.storage.target, target.length),
    };
    const entry: Entry = {
      source: copyInto(storage.source, source),
      target: copyInto(storage.target, target),
      results: {},
      storage,
    };
    this.entries.unshift(entry);
    return entry.results;
  }
}

/** The memo this thread's differs share. */
export const pairMemo = new PairMemo();

function sameBytes(kept: Buffer, data: Uint8Array): boolean {
  return kept.length === data.length && kept.equals(data);
}

/**
 * `buffer` when it holds `sizeBytes` and is at most twice that, else a new buffer of that size (its
 * own memory, not Node's shared pool): an entry's buffers stay within twice its pair's bytes.
 */
function reusable(buffer: Buffer | undefined, sizeBytes: number): Buffer {
  return buffer && buffer.length >= sizeBytes && buffer.length <= 2 * sizeBytes
    ? buffer
    : Buffer.allocUnsafeSlow(sizeBytes);
}

/** `data` copied to the front of `storage` (a memcpy), as a view of exactly its length. */
function copyInto(storage: Buffer, data: Uint8Array): Buffer {
  storage.set(data);
  return storage.subarray(0, data.length);
}

/**
 * matchBsdiff(source, target), remembered for a pair of equal bytes (in `results` when the caller
 * already holds the pair's slot). The streams are shared: read them, never write them.
 */
export function matchBsdiffShared(source: Uint8Array, target: Uint8Array, results?: PairResults): BsdiffStreams {
  const slot = results ?? pairMemo.resultsOf(source, target);
  if (!slot) return matchBsdiff(source, target);
  slot.streams ??= matchBsdiff(source, target);
  return slot.streams;
}

/**
 * encodeSparseDiff(streams.diff), made once per remembered pair when `streams` are the pair's
 * shared ones (`results.streams`; else made anew). Shared: read it, never write it.
 */
export function sparseDiffShared(streams: BsdiffStreams, results?: PairResults): Buffer {
  if (results?.streams !== streams) return encodeSparseDiff(streams.diff);
  results.sparse ??= encodeSparseDiff(streams.diff);
  return results.sparse;
}
