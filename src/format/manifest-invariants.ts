// Cross-field invariants of a decoded manifest (FORMAT.md §4), checked before any write:
// extents inside their images, no overlapping writes, blobs contiguous in op order, op limits.

import { PackageFormatError } from '../errors/ota-error.js';
import { partitionPoint } from '../extents/lower-bound.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import { isUnchanged, sameIdentity, type Manifest, type PartitionUpdate } from '../model/manifest.js';
import { blobOf, sourceOf, stashIdsOf, targetSourceOf } from '../model/operation.js';
import { proveInPlace } from './in-place-proof.js';
import { targetReadWriters } from '../model/target-reads.js';
import type { TargetHeader } from '../model/target-header.js';

/** Number of blocks an image of `sizeBytes` occupies (last block zero-padded). */
export function blockCountOf(sizeBytes: number, blockSizeBytes: number): number {
  return Math.ceil(sizeBytes / blockSizeBytes);
}

/** Checks every invariant; throws PackageFormatError (`PKG_BAD_MANIFEST`, exit 4) on the first violation. */
export function checkManifestInvariants(m: Manifest, target: TargetHeader, blobSectionSizeBytes: number): void {
  const bs = m.blockSizeBytes;
  if (bs !== target.blockSizeBytes) bad(`block size ${bs} differs from the target header's ${target.blockSizeBytes}`);
  const names = new Set<string>();
  let nextBlobOffset = 0;
  let maxDecoder = 0;
  for (const [pi, p] of m.partitions.entries()) {
    if (names.has(p.name)) bad(`partition name ${p.name} appears twice`);
    names.add(p.name);
    const dstBlocks = blockCountOf(p.target.sizeBytes, bs);
    if (dstBlocks > 0xffffffff) bad(`partition ${p.name}: target of ${dstBlocks} blocks is too large`);
    const srcBlocks = p.source ? blockCountOf(p.source.sizeBytes, bs) : 0;
    checkInside(p.target.dontCare, dstBlocks, `partition ${p.name} target DONT_CARE`);
    const sourceDontCare = p.source ? [...p.source.dontCare].sort((a, b) => a.startBlock - b.startBlock) : [];
    checkNoOverlap(sourceDontCare, `partition ${p.name} source DONT_CARE`);
    checkInside(sourceDontCare, srcBlocks, `partition ${p.name} source DONT_CARE`);
    if (isUnchanged(p)) {
      checkUnchanged(p);
      continue;
    }
    const written: Extent[] = [...p.target.dontCare];
    for (const [oi, op] of p.operations.entries()) {
      const where = `partition ${p.name} op ${oi} (${op.type})`;
      checkInside(op.dst, dstBlocks, `${where} destination`);
      written.push(...op.dst);
      const dstBytes = totalBlocks(op.dst) * bs;
      if (dstBytes > target.maxOperationBytes)
        bad(`${where} writes ${dstBytes} bytes, over the target's limit of ${target.maxOperationBytes}`);
      const src = sourceOf(op);
      // A sourceless DIFF (1.4) reads nothing; in-place packages, always deltas, never carry one.
      if (op.type === 'diff' && src.length === 0 && target.updateMode === 'in-place')
        bad(`${where} has no source, which an in-place package does not allow`);
      const targetSrc = targetSourceOf(op);
      if (src.length > 0) {
        if (!p.source) bad(`${where} reads the old image, but the package is a full package`);
        checkInside(src, srcBlocks, `${where} source`);
        if (sourceDontCare.length > 0)
          checkDisjoint(src, sourceDontCare, `${where} reads DONT_CARE blocks of the old image`);
      }
      if (targetSrc.length > 0) {
        // 1.6: read back from the image being written, which an in-place update overwrites.
        if (target.updateMode === 'in-place')
          bad(`${where} reads the target image, which an in-place package does not allow`);
        checkInside(targetSrc, dstBlocks, `${where} target source`);
      }
      const srcBytes = (totalBlocks(src) + totalBlocks(targetSrc)) * bs;
      if (srcBytes > 4 * target.maxOperationBytes)
        bad(`${where} reads ${srcBytes} bytes, over 4 × the target's op limit`);
      if (op.type === 'copy' && totalBlocks(op.src) !== totalBlocks(op.dst))
        bad(`${where} copies ${totalBlocks(op.src)} blocks into ${totalBlocks(op.dst)}`);
      const blob = blobOf(op);
      if (blob) {
        if (blob.offsetBytes !== nextBlobOffset)
          bad(
            `${where} blob starts at ${blob.offsetBytes}, expected ${nextBlobOffset} (blobs must be contiguous in op order)`,
          );
        nextBlobOffset += blob.sizeBytes;
        if (nextBlobOffset > blobSectionSizeBytes)
          bad(`${where} blob ends at ${nextBlobOffset}, past the ${blobSectionSizeBytes}-byte blob section`);
      }
      if (op.type === 'replace' || op.type === 'diff') {
        if (op.decoderMemoryBytes > target.decoderMemoryLimitBytes)
          bad(
            `${where} needs ${op.decoderMemoryBytes} bytes of decoder memory, over the target's ${target.decoderMemoryLimitBytes}`,
          );
        maxDecoder = Math.max(maxDecoder, op.decoderMemoryBytes);
      }
    }
    checkNoOverlap(written, `partition ${p.name} (index ${pi})`);
    // 1.6: every block read back was written by an earlier op (never DONT_CARE, later or its own).
    const { unwritten } = targetReadWriters(p.operations);
    if (unwritten)
      bad(`partition ${p.name} op ${unwritten.op} reads target block ${unwritten.block}, which no earlier op writes`);
    // Every target block is written by exactly one op or declared DONT_CARE.
    if (totalBlocks(written) !== dstBlocks)
      bad(`partition ${p.name}: ops and DONT_CARE cover ${totalBlocks(written)} of the target's ${dstBlocks} blocks`);
    // In-place (1.3): the order must be proven safe before any write (FORMAT.md §4b).
    if (target.updateMode === 'in-place') proveInPlace(p, bs, target.maxStashBytes ?? 0);
    else checkNoInPlaceFields(p);
  }
  checkLayouts(target, names);
  if (nextBlobOffset !== blobSectionSizeBytes)
    bad(`blobs end at ${nextBlobOffset} but the blob section is ${blobSectionSizeBytes} bytes`);
  if (maxDecoder > m.maxDecoderMemoryBytes)
    bad(`max_decoder_memory_bytes ${m.maxDecoderMemoryBytes} is below an op's ${maxDecoder}`);
}

/** An A/B partition carries none of the in-place fields (STASH/FREE, stash ids, dst hashes). */
function checkNoInPlaceFields(p: PartitionUpdate): void {
  if ((p.convertedReplaceOps ?? 0) > 0) bad(`partition ${p.name}: converted_replace_ops in an A/B package`);
  for (const [i, op] of p.operations.entries()) {
    const inPlace =
      op.type === 'stash' ||
      op.type === 'free' ||
      stashIdsOf(op).length > 0 ||
      ((op.type === 'replace' || op.type === 'diff') && op.dstSha256 !== undefined);
    if (inPlace) bad(`partition ${p.name} op ${i} (${op.type}) uses an in-place field in an A/B package`);
  }
}

/** An unchanged partition (no ops) must promise exactly its source image. */
function checkUnchanged(p: PartitionUpdate): void {
  const s = p.source;
  if (!s) bad(`partition ${p.name} has no operations and no source image to keep`);
  if (!sameIdentity(s, p.target)) bad(`partition ${p.name} has no operations but its target differs from its source`);
}

/** Every partition layout places a manifest partition, at most once per slot. */
function checkLayouts(target: TargetHeader, partitionNames: ReadonlySet<string>): void {
  const seen = new Set<string>();
  for (const l of target.partitionLayouts) {
    if (!partitionNames.has(l.name)) bad(`target header places partition ${l.name}, which the manifest does not list`);
    const key = `${l.name}${l.slotSuffix}`;
    if (seen.has(key)) bad(`target header places partition ${key} twice`);
    seen.add(key);
  }
}

function checkInside(extents: readonly Extent[], imageBlocks: number, where: string): void {
  for (const e of extents) {
    if (e.startBlock + e.blockCount > imageBlocks)
      bad(`${where} extent ${e.startBlock}+${e.blockCount} runs past the image's ${imageBlocks} blocks`);
  }
}

/** Throws when any extent of `a` touches `sorted` (sorted by start, non-overlapping). */
function checkDisjoint(a: readonly Extent[], sorted: readonly Extent[], what: string): void {
  for (const x of a) {
    // First extent of `sorted` that ends after x starts.
    const y =
      sorted[partitionPoint(sorted.length, (i) => sorted[i]!.startBlock + sorted[i]!.blockCount <= x.startBlock)];
    if (y && y.startBlock < x.startBlock + x.blockCount) bad(what);
  }
}

function checkNoOverlap(extents: Extent[], where: string): void {
  const sorted = [...extents].sort((a, b) => a.startBlock - b.startBlock);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.startBlock + prev.blockCount > cur.startBlock)
      bad(
        `${where}: destination extents ${prev.startBlock}+${prev.blockCount} and ${cur.startBlock}+${cur.blockCount} overlap`,
      );
  }
}

function bad(detail: string): never {
  throw new PackageFormatError('PKG_BAD_MANIFEST', `manifest invalid: ${detail}`);
}
