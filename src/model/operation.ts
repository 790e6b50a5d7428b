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

/** Copy old-image blocks `src` to `dst` (same block count); `srcSha256` covers the bytes read. */
export interface CopyOperation {
  readonly type: 'copy';
  readonly dst: readonly Extent[];
  readonly src: readonly Extent[];
  readonly srcSha256: Uint8Array;
}

/** Decode the blob with `codec` and write it to `dst`. */
export interface ReplaceOperation {
  readonly type: 'replace';
  readonly dst: readonly Extent[];
  readonly codec: string;
  readonly blob: BlobRef;
  /** Memory the decoder needs, as the encoder declared it. */
  readonly decoderMemoryBytes: number;
}

/** Read `src` (checked against `srcSha256`), patch it with the blob using `differ`, write `dst`. */
export interface DiffOperation {
  readonly type: 'diff';
  readonly dst: readonly Extent[];
  readonly src: readonly Extent[];
  readonly srcSha256: Uint8Array;
  readonly differ: string;
  readonly blob: BlobRef;
  readonly decoderMemoryBytes: number;
}

/** Every operation kind. Switch on `type` exhaustively. */
export type Operation = ZeroOperation | CopyOperation | ReplaceOperation | DiffOperation;

export type OperationType = Operation['type'];

/** Returns the blob reference of an operation, or undefined for ZERO/COPY. */
export function blobOf(op: Operation): BlobRef | undefined {
  return op.type === 'replace' || op.type === 'diff' ? op.blob : undefined;
}

/** Returns the source extents an operation reads from the old image (empty for ZERO/REPLACE). */
export function sourceOf(op: Operation): readonly Extent[] {
  return op.type === 'copy' || op.type === 'diff' ? op.src : [];
}

/** Throws at compile time when a switch over `Operation['type']` misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
