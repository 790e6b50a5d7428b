// Operation: what the device does to produce a run of destination blocks (DESIGN §3).
// A discriminated union on `type`; wire ids live in format/ and the registries.

import type { Extent } from './extent.js';

/** Reference to an op's data in the blob section. Offsets are relative to the blob section. */
export interface BlobRef {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
}

/** Write zeros to `dst`. */
export interface ZeroOperation {
  readonly type: 'zero';
  readonly dst: readonly Extent[];
}

/**
 * Copy old-image blocks `src` to `dst` (same block count); `srcSha256` covers the bytes read.
 * In-place (format 1.3): source blocks inside a stash named by `stashIds` are read from that stash.
 */
export interface CopyOperation {
  readonly type: 'copy';
  readonly dst: readonly Extent[];
  readonly src: readonly Extent[];
  readonly srcSha256: Uint8Array;
  readonly stashIds?: readonly number[];
}

/** Decode the blob with `codec` and write it to `dst`. */
export interface ReplaceOperation {
  readonly type: 'replace';
  readonly dst: readonly Extent[];
  readonly codec: string;
  readonly blob: BlobRef;
  /** Memory the decoder needs, as the encoder declared it. */
  readonly decoderMemoryBytes: number;
  /** In-place (1.3): sha256 of the bytes the op writes, so a re-run can skip it. */
  readonly dstSha256?: Uint8Array;
}

/**
 * Read `src` then `targetSrc` (checked together against `srcSha256`), patch them with the blob
 * using `differ`, write `dst`.
 */
export interface DiffOperation {
  readonly type: 'diff';
  readonly dst: readonly Extent[];
  readonly src: readonly Extent[];
  readonly srcSha256: Uint8Array;
  /**
   * A/B (1.6): blocks of the image being written, each written by an earlier op, read after
   * `src` as the rest of the source (content the new image repeats from what came before).
   */
  readonly targetSrc?: readonly Extent[];
  readonly differ: string;
  readonly blob: BlobRef;
  readonly decoderMemoryBytes: number;
  /** In-place (1.3): stashes the source is partly read from (see CopyOperation). */
  readonly stashIds?: readonly number[];
  /** In-place (1.3): sha256 of the bytes the op writes, so a re-run can skip it. */
  readonly dstSha256?: Uint8Array;
}

/**
 * In-place only (1.3): save old-image blocks `src` (hashing to `srcSha256`) as stash `stashId`
 * before a later op overwrites them. Writes nothing to the image (`dst` is empty).
 */
export interface StashOperation {
  readonly type: 'stash';
  readonly dst: readonly Extent[];
  readonly stashId: number;
  readonly src: readonly Extent[];
  readonly srcSha256: Uint8Array;
}

/** In-place only (1.3): drop stash `stashId` after its last use (`dst` is empty). */
export interface FreeOperation {
  readonly type: 'free';
  readonly dst: readonly Extent[];
  readonly stashId: number;
}

/** Every operation kind. Switch on `type` exhaustively. */
export type Operation =
  ZeroOperation | CopyOperation | ReplaceOperation | DiffOperation | StashOperation | FreeOperation;

/** The kinds of op that write destination blocks (every kind but STASH and FREE). */
export type WritingOperation = ZeroOperation | CopyOperation | ReplaceOperation | DiffOperation;

/** True for STASH and FREE, the in-place bookkeeping ops that write no destination block. */
export function isStashStep(op: Operation): op is StashOperation | FreeOperation {
  return op.type === 'stash' || op.type === 'free';
}

export type OperationType = Operation['type'];

/** Returns the blob reference of an operation, or undefined for ZERO/COPY. */
export function blobOf(op: Operation): BlobRef | undefined {
  return op.type === 'replace' || op.type === 'diff' ? op.blob : undefined;
}

/** Returns the source extents an operation reads from the old image (empty for ZERO/REPLACE/FREE). */
export function sourceOf(op: Operation): readonly Extent[] {
  return op.type === 'copy' || op.type === 'diff' || op.type === 'stash' ? op.src : [];
}

/** The blocks of the image being written that an op reads as source (A/B DIFF, 1.6; else empty). */
export function targetSourceOf(op: Operation): readonly Extent[] {
  return (op.type === 'diff' ? op.targetSrc : undefined) ?? [];
}

/** The stashes an op reads part of its source from (in-place packages; empty otherwise). */
export function stashIdsOf(op: Operation): readonly number[] {
  return (op.type === 'copy' || op.type === 'diff' ? op.stashIds : undefined) ?? [];
}

/** Throws at compile time when a switch over `Operation['type']` misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
