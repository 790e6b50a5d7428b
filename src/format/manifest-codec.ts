// Encodes and strictly decodes the manifest section (FORMAT.md §4): shape of every field and
// operation. Cross-field invariants (extents in range, blob order) live in manifest-invariants.ts.

import { isPartitionName } from '../model/partition-name.js';
import { PackageFormatError } from '../errors/ota-error.js';
import type { Extent } from '../model/extent.js';
import type { ImageIdentity, Manifest, PartitionUpdate } from '../model/manifest.js';
import { assertNever, type BlobRef, type Operation } from '../model/operation.js';
import { CodecWireId, DifferWireId, nameOfWireId, type CodecName, type DifferName } from '../model/wire-ids.js';
import {
  MAX_DONT_CARE_EXTENTS,
  MAX_EXTENTS_PER_OPERATION,
  MAX_IMAGE_BYTES,
  MAX_OPERATIONS,
  MAX_PARTITIONS,
  SHA256_BYTES,
} from './limits.js';
import { checkManifestCounts } from './manifest-counts.js';
import { type WireMessage, decodeMessageStrict, encodeMessage } from './proto-message.js';
import { ManifestType } from './schema.js';

const OP_WIRE = { zero: 1, copy: 2, replace: 3, diff: 4, stash: 5, free: 6 } as const;

/**
 * Resolves the codec and differ wire ids a manifest stores, refusing unknown ones (UnsupportedError
 * `UNKNOWN_CODEC` / `UNKNOWN_DIFFER`). The decode side's registries supply it
 * (package/plugin-wire-ids.ts), so the format layer names no plugin.
 */
export interface PluginWireIds {
  /** The codec with wire id `wireId`; `where` names the op for the error. */
  codecName(wireId: number, where: string): CodecName;
  /** The differ with wire id `wireId`; `where` names the op for the error. */
  differName(wireId: number, where: string): DifferName;
}

/** Encodes a manifest canonically. */
export function encodeManifest(m: Manifest): Buffer {
  return encodeMessage(ManifestType, {
    block_size_bytes: m.blockSizeBytes,
    timestamp_seconds: m.timestampSeconds,
    source_version: m.sourceVersion,
    target_version: m.targetVersion,
    partitions: m.partitions.map((p) => ({
      name: p.name,
      source: p.source && identityToWire(p.source),
      target: identityToWire(p.target),
      operations: p.operations.map(operationToWire),
      converted_replace_ops: p.convertedReplaceOps ?? 0,
    })),
    max_decoder_memory_bytes: m.maxDecoderMemoryBytes,
    required_space_bytes: m.requiredSpaceBytes,
  });
}

/**
 * Decodes a manifest and checks the shape of every field. Throws PackageFormatError (exit 4);
 * codec and differ ids are resolved by `plugins`, which throws for unknown ones.
 */
export function decodeManifest(bytes: Uint8Array, plugins: PluginWireIds): Manifest {
  // Counts first, on the raw bytes: nothing is materialized from a manifest over the limits.
  checkManifestCounts(bytes);
  const m = decodeMessageStrict(ManifestType, bytes, 'manifest');
  if (m.partitions.length === 0 || m.partitions.length > MAX_PARTITIONS) {
    bad(`has ${m.partitions.length} partitions, expected 1..${MAX_PARTITIONS}`);
  }
  let opCount = 0;
  const partitions: PartitionUpdate[] = m.partitions.map((p: WireMessage, pi: number): PartitionUpdate => {
    const where = `partition ${pi}`;
    if (!isPartitionName(p.name)) bad(`${where}: name ${JSON.stringify(p.name)} is not a valid partition name`);
    if (!p.target) bad(`${where}: target identity is missing`);
    opCount += p.operations.length;
    if (opCount > MAX_OPERATIONS) bad(`has more than ${MAX_OPERATIONS} operations`);
    return {
      name: p.name,
      source: p.source ? identityFromWire(p.source, `${where} source`) : undefined,
      target: identityFromWire(p.target, `${where} target`),
      operations: p.operations.map((o: WireMessage, oi: number) => operationFromWire(o, `${where} op ${oi}`, plugins)),
      ...(p.converted_replace_ops > 0 ? { convertedReplaceOps: p.converted_replace_ops } : {}),
    };
  });
  for (const [name, value] of [
    ['timestamp_seconds', m.timestamp_seconds],
    ['max_decoder_memory_bytes', m.max_decoder_memory_bytes],
    ['required_space_bytes', m.required_space_bytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value > MAX_IMAGE_BYTES) bad(`${name} ${value} is out of range`);
  }
  return {
    blockSizeBytes: m.block_size_bytes,
    timestampSeconds: m.timestamp_seconds,
    sourceVersion: m.source_version,
    targetVersion: m.target_version,
    partitions,
    maxDecoderMemoryBytes: m.max_decoder_memory_bytes,
    requiredSpaceBytes: m.required_space_bytes,
  };
}

function identityToWire(i: ImageIdentity): object {
  return {
    size_bytes: i.sizeBytes,
    sha256: i.sha256,
    version: i.version,
    dont_care_extents: extentsToWire(i.dontCare),
  };
}

function identityFromWire(w: WireMessage, where: string): ImageIdentity {
  checkSha(w.sha256, `${where} sha256`);
  if (!(w.size_bytes >= 1 && w.size_bytes <= MAX_IMAGE_BYTES))
    bad(`${where}: size_bytes ${w.size_bytes} is outside 1..${MAX_IMAGE_BYTES}`);
  if (w.dont_care_extents.length > MAX_DONT_CARE_EXTENTS)
    bad(`${where}: ${w.dont_care_extents.length} DONT_CARE extents, at most ${MAX_DONT_CARE_EXTENTS}`);
  return {
    sizeBytes: w.size_bytes,
    sha256: w.sha256,
    version: w.version,
    dontCare: extentsFromWire(w.dont_care_extents, `${where} dont_care`),
  };
}

function extentsToWire(extents: readonly Extent[]): object[] {
  return extents.map((e) => ({ start_block: e.startBlock, block_count: e.blockCount }));
}

function operationToWire(op: Operation): object {
  const base = { type: OP_WIRE[op.type], dst_extents: extentsToWire(op.dst) };
  switch (op.type) {
    case 'zero':
      return base;
    case 'copy':
      return { ...base, src_extents: extentsToWire(op.src), src_sha256: op.srcSha256, stash_ids: op.stashIds ?? [] };
    case 'replace':
      return {
        ...base,
        ...blobToWire(op.blob),
        codec: CodecWireId[op.codec as keyof typeof CodecWireId],
        decoder_memory_bytes: op.decoderMemoryBytes,
        dst_sha256: op.dstSha256,
      };
    case 'diff':
      return {
        ...base,
        src_extents: extentsToWire(op.src),
        src_sha256: op.srcSha256,
        ...blobToWire(op.blob),
        differ: DifferWireId[op.differ as keyof typeof DifferWireId],
        decoder_memory_bytes: op.decoderMemoryBytes,
        stash_ids: op.stashIds ?? [],
        dst_sha256: op.dstSha256,
        target_src_extents: extentsToWire(op.targetSrc ?? []),
      };
    case 'stash':
      return {
        type: OP_WIRE.stash,
        src_extents: extentsToWire(op.src),
        src_sha256: op.srcSha256,
        stash_id: op.stashId,
      };
    case 'free':
      return { type: OP_WIRE.free, stash_id: op.stashId };
    default:
      return assertNever(op);
  }
}

function blobToWire(b: BlobRef): object {
  return { blob_offset: b.offsetBytes, blob_size_bytes: b.sizeBytes, blob_sha256: b.sha256 };
}

function operationFromWire(w: WireMessage, where: string, plugins: PluginWireIds): Operation {
  const type = nameOfWireId(OP_WIRE, w.type);
  if (!type) bad(`${where}: unknown operation type ${w.type}`);
  const dst = extentsFromWire(w.dst_extents, `${where} dst`);
  const stashStep = type === 'stash' || type === 'free';
  if (dst.length === 0 && !stashStep) bad(`${where}: no destination extents`);
  const hasSrc = w.src_extents.length > 0 || w.src_sha256.length > 0;
  const hasBlob = w.blob_offset !== 0 || w.blob_size_bytes !== 0 || w.blob_sha256.length > 0;
  const forbid = (cond: boolean, field: string): void => {
    if (cond) bad(`${where}: ${type} operation must not have ${field}`);
  };
  const codecless = w.codec !== 0 || w.differ !== 0 || w.decoder_memory_bytes !== 0;
  forbid(!stashStep && w.stash_id !== 0, 'a stash_id');
  forbid(type !== 'copy' && type !== 'diff' && w.stash_ids.length > 0, 'stash_ids');
  forbid(type !== 'replace' && type !== 'diff' && w.dst_sha256.length > 0, 'a dst_sha256');
  forbid(type !== 'diff' && w.target_src_extents.length > 0, 'target_src_extents');
  switch (type!) {
    case 'zero':
      forbid(hasSrc, 'source fields');
      forbid(hasBlob, 'blob fields');
      forbid(codecless, 'codec/differ fields');
      return { type: 'zero', dst };
    case 'copy':
      forbid(hasBlob, 'blob fields');
      forbid(codecless, 'codec/differ fields');
      return { type: 'copy', dst, ...sourceFromWire(w, where), ...stashIdsFromWire(w, where) };
    case 'replace': {
      forbid(hasSrc, 'source fields');
      forbid(w.differ !== 0, 'a differ');
      const codec = plugins.codecName(w.codec, where);
      return {
        type: 'replace',
        dst,
        codec,
        blob: blobFromWire(w, where),
        decoderMemoryBytes: w.decoder_memory_bytes,
        ...dstShaFromWire(w, where),
      };
    }
    case 'diff': {
      forbid(w.codec !== 0, 'a codec');
      const differ = plugins.differName(w.differ, where);
      return {
        type: 'diff',
        dst,
        ...sourceFromWire(w, where, true),
        differ,
        blob: blobFromWire(w, where),
        decoderMemoryBytes: w.decoder_memory_bytes,
        ...stashIdsFromWire(w, where),
        ...dstShaFromWire(w, where),
        ...targetSourceFromWire(w, where),
      };
    }
    case 'stash':
    case 'free': {
      forbid(dst.length > 0, 'destination extents');
      forbid(hasBlob, 'blob fields');
      forbid(codecless, 'codec/differ fields');
      if (w.stash_id === 0) bad(`${where}: ${type} operation has no stash_id`);
      if (type === 'free') {
        forbid(hasSrc, 'source fields');
        return { type: 'free', dst: [], stashId: w.stash_id };
      }
      return { type: 'stash', dst: [], stashId: w.stash_id, ...sourceFromWire(w, where) };
    }
  }
}

function stashIdsFromWire(w: WireMessage, where: string): { stashIds?: number[] } {
  if (w.stash_ids.length === 0) return {};
  if (w.stash_ids.length > MAX_EXTENTS_PER_OPERATION) bad(`${where}: too many stash_ids`);
  if (w.stash_ids.some((id: number) => id === 0)) bad(`${where}: stash id 0 is not a stash`);
  return { stashIds: w.stash_ids };
}

function targetSourceFromWire(w: WireMessage, where: string): { targetSrc?: Extent[] } {
  if (w.target_src_extents.length === 0) return {};
  return { targetSrc: extentsFromWire(w.target_src_extents, `${where} target_src`) };
}

function dstShaFromWire(w: WireMessage, where: string): { dstSha256?: Uint8Array } {
  if (w.dst_sha256.length === 0) return {};
  checkSha(w.dst_sha256, `${where} dst_sha256`);
  return { dstSha256: w.dst_sha256 };
}

/**
 * An op's source. Only a DIFF may have none (1.4, a sourceless DIFF: its differ patches zero
 * bytes), and then its src_sha256 is the sha256 of the empty input, unless it reads target blocks
 * (1.6), which src_sha256 then covers.
 */
function sourceFromWire(w: WireMessage, where: string, sourceless = false): { src: Extent[]; srcSha256: Uint8Array } {
  const src = extentsFromWire(w.src_extents, `${where} src`);
  if (src.length === 0 && !sourceless) bad(`${where}: no source extents`);
  checkSha(w.src_sha256, `${where} src_sha256`);
  if (src.length === 0 && w.target_src_extents.length === 0 && !EMPTY_SHA256.equals(w.src_sha256))
    bad(`${where}: no source extents, but src_sha256 is not the sha256 of no bytes`);
  return { src, srcSha256: w.src_sha256 };
}

/** sha256 of zero bytes: the src_sha256 of a sourceless DIFF. */
const EMPTY_SHA256 = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');

function blobFromWire(w: WireMessage, where: string): BlobRef {
  if (w.blob_size_bytes === 0) bad(`${where}: empty blob`);
  if (!Number.isSafeInteger(w.blob_offset + w.blob_size_bytes)) bad(`${where}: blob range out of range`);
  if (!Number.isSafeInteger(w.decoder_memory_bytes)) bad(`${where}: decoder memory out of range`);
  checkSha(w.blob_sha256, `${where} blob_sha256`);
  return { offsetBytes: w.blob_offset, sizeBytes: w.blob_size_bytes, sha256: w.blob_sha256 };
}

function extentsFromWire(list: WireMessage[], where: string): Extent[] {
  if (list.length > MAX_EXTENTS_PER_OPERATION && !where.endsWith('dont_care'))
    bad(`${where}: ${list.length} extents, at most ${MAX_EXTENTS_PER_OPERATION}`);
  return list.map((e, i) => {
    if (e.block_count === 0) bad(`${where} extent ${i}: block_count is 0`);
    if (!Number.isSafeInteger(e.start_block + e.block_count) || e.start_block + e.block_count > MAX_IMAGE_BYTES)
      bad(`${where} extent ${i}: out of range`);
    return { startBlock: e.start_block, blockCount: e.block_count };
  });
}

function checkSha(value: Uint8Array, where: string): void {
  if (value.length !== SHA256_BYTES) bad(`${where} is ${value.length} bytes, expected ${SHA256_BYTES}`);
}

function bad(detail: string): never {
  throw new PackageFormatError('PKG_BAD_MANIFEST', `manifest ${detail}`);
}
