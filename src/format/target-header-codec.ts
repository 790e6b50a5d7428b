// Encodes and strictly decodes the target header section (FORMAT.md §3).

import { PackageFormatError } from '../errors/ota-error.js';
import { algorithmByName, algorithmByWireId } from '../model/signature-algorithm.js';
import { isPartitionName } from '../model/partition-name.js';
import type { PartitionLayout, TargetHeader } from '../model/target-header.js';
import type { StorageType, UpdateMode } from '../model/target-profile.js';
import {
  MAX_BLOCK_SIZE_BYTES,
  MAX_DECODER_MEMORY_BYTES,
  MAX_OPERATION_BYTES,
  MAX_STASH_BYTES,
  MIN_BLOCK_SIZE_BYTES,
} from './limits.js';
import { type WireMessage, decodeMessageStrict, encodeMessage } from './proto-message.js';
import { TargetHeaderType } from './schema.js';

const STORAGE: readonly StorageType[] = ['ufs', 'emmc', 'nand', 'generic'];
const MODES: readonly UpdateMode[] = ['ab', 'in-place'];

/** Encodes a target header. */
export function encodeTargetHeader(h: TargetHeader): Buffer {
  return encodeMessage(TargetHeaderType, {
    target_id: h.targetId,
    vendor: h.vendor,
    platform: h.platform,
    storage: h.storage,
    block_size_bytes: h.blockSizeBytes,
    update_mode: h.updateMode,
    signature_algorithm: algorithmByName(h.signatureAlgorithm)!.wireId,
    decoder_memory_limit_bytes: h.decoderMemoryLimitBytes,
    max_operation_bytes: h.maxOperationBytes,
    max_stash_bytes: h.maxStashBytes ?? 0,
    partition_layout: h.partitionLayout,
    slot_suffixes: [...h.slotSuffixes],
    release_layout: h.releaseLayout,
    partition_layouts: h.partitionLayouts.map((l) => ({
      name: l.name,
      slot_suffix: l.slotSuffix,
      layout_size_bytes: l.layoutSizeBytes,
      file_name: l.fileName,
      lun: l.lun,
      start_sector: l.startSector,
      sector_size_bytes: l.sectorSizeBytes,
      region: l.region,
      address_bytes: l.addressBytes,
      partition_id: l.partitionId,
    })),
  });
}

/** Decodes a target header, checking every field's range. Throws PackageFormatError (exit 4). */
export function decodeTargetHeader(bytes: Uint8Array): TargetHeader {
  const m = decodeMessageStrict(TargetHeaderType, bytes, 'target header');
  const bad = (detail: string): never => {
    throw new PackageFormatError('PKG_BAD_TARGET_HEADER', `target header: ${detail}`);
  };
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(m.target_id))
    bad(`target_id ${JSON.stringify(m.target_id)} is not a valid id`);
  if (!STORAGE.includes(m.storage)) bad(`storage ${JSON.stringify(m.storage)}, expected one of ${STORAGE.join(', ')}`);
  if (!MODES.includes(m.update_mode)) bad(`update_mode ${JSON.stringify(m.update_mode)}, expected ab or in-place`);
  const bs = m.block_size_bytes as number;
  if (bs < MIN_BLOCK_SIZE_BYTES || bs > MAX_BLOCK_SIZE_BYTES || (bs & (bs - 1)) !== 0)
    bad(`block_size_bytes ${bs} is not a power of two in 512..1 MiB`);
  const algorithm = algorithmByWireId(m.signature_algorithm);
  if (!algorithm) bad(`unknown signature_algorithm ${m.signature_algorithm}`);
  if (!(m.max_operation_bytes >= bs && m.max_operation_bytes <= MAX_OPERATION_BYTES))
    bad(`max_operation_bytes ${m.max_operation_bytes} is outside ${bs}..${MAX_OPERATION_BYTES}`);
  if (!(m.decoder_memory_limit_bytes >= 1 && m.decoder_memory_limit_bytes <= MAX_DECODER_MEMORY_BYTES))
    bad(`decoder_memory_limit_bytes ${m.decoder_memory_limit_bytes} is outside 1..${MAX_DECODER_MEMORY_BYTES}`);
  if (!RELEASE_LAYOUTS.includes(m.release_layout))
    bad(
      `release_layout ${JSON.stringify(m.release_layout)}, expected one of ${RELEASE_LAYOUTS.filter(Boolean).join(', ')} or none`,
    );
  if ((m.release_layout === '') !== (m.partition_layouts.length === 0))
    bad('release_layout and partition_layouts must be both set or both empty');
  if (m.partition_layouts.length > MAX_PARTITION_LAYOUTS)
    bad(`${m.partition_layouts.length} partition layouts, at most ${MAX_PARTITION_LAYOUTS}`);
  if (!Number.isSafeInteger(m.max_stash_bytes) || m.max_stash_bytes > MAX_STASH_BYTES)
    bad(`max_stash_bytes ${m.max_stash_bytes} is outside 0..${MAX_STASH_BYTES}`);
  if (m.update_mode !== 'in-place' && m.max_stash_bytes !== 0)
    bad(`max_stash_bytes is ${m.max_stash_bytes} in an ${m.update_mode} package (only in-place packages stash)`);
  const partitionLayouts = m.partition_layouts.map((l: WireMessage, i: number) =>
    decodeLayout(l, `partition_layouts[${i}]`, bad),
  );
  return {
    targetId: m.target_id,
    vendor: m.vendor,
    platform: m.platform,
    storage: m.storage,
    blockSizeBytes: bs,
    updateMode: m.update_mode,
    signatureAlgorithm: algorithm!.name,
    decoderMemoryLimitBytes: m.decoder_memory_limit_bytes,
    maxOperationBytes: m.max_operation_bytes,
    ...(m.update_mode === 'in-place' ? { maxStashBytes: m.max_stash_bytes } : {}),
    partitionLayout: m.partition_layout,
    slotSuffixes: m.slot_suffixes,
    releaseLayout: m.release_layout,
    partitionLayouts,
  };
}

const RELEASE_LAYOUTS: readonly string[] = [
  '',
  'qualcomm-rawprogram',
  'mediatek-scatter',
  'unisoc-pac',
  'generic-folder',
];
/** Partition layouts one target header may carry (256 partitions × two slots). */
export const MAX_PARTITION_LAYOUTS = 512;

function decodeLayout(l: WireMessage, where: string, bad: (detail: string) => never): PartitionLayout {
  if (!isPartitionName(l.name)) bad(`${where}: name ${JSON.stringify(l.name)} is not a partition name`);
  if (!['', '_a', '_b'].includes(l.slot_suffix))
    bad(`${where}: slot_suffix ${JSON.stringify(l.slot_suffix)}, expected "", "_a" or "_b"`);
  for (const f of ['file_name', 'region', 'partition_id'] as const) {
    if (l[f].length > 256) bad(`${where}: ${f} is longer than 256 characters`);
  }
  if (
    l.sector_size_bytes !== 0 &&
    (l.sector_size_bytes < 512 ||
      l.sector_size_bytes > 65536 ||
      (l.sector_size_bytes & (l.sector_size_bytes - 1)) !== 0)
  ) {
    bad(`${where}: sector_size_bytes ${l.sector_size_bytes} is not a power of two in 512..65536`);
  }
  for (const f of ['layout_size_bytes', 'start_sector', 'address_bytes'] as const) {
    if (!Number.isSafeInteger(l[f])) bad(`${where}: ${f} ${l[f]} is beyond 2^53`);
  }
  return {
    name: l.name,
    slotSuffix: l.slot_suffix,
    layoutSizeBytes: l.layout_size_bytes,
    fileName: l.file_name,
    lun: l.lun,
    startSector: l.start_sector,
    sectorSizeBytes: l.sector_size_bytes,
    region: l.region,
    addressBytes: l.address_bytes,
    partitionId: l.partition_id,
  };
}
