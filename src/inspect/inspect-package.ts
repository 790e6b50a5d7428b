// inspectPackage: a package described as plain data (for `inspect` and `inspect --json`).

import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { SignatureError } from '../errors/ota-error.js';
import type { PackageLayout } from '../format/package-header.js';
import type { SignatureBlock } from '../format/signature-block.js';
import { totalBlocks } from '../model/extent.js';
import { isUnchanged, type ImageIdentity, type PartitionUpdate } from '../model/manifest.js';
import { proveInPlace } from '../format/in-place-proof.js';
import type { PartitionLayout, TargetHeader } from '../model/target-header.js';
import { blobOf, targetSourceOf } from '../model/operation.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { readUnverifiedSummary, UNVERIFIED_OP_LIST_MAX, type UnverifiedSummary } from './unverified-summary.js';
import { displayName } from '../transport/byte-range-source.js';

/** Options of `inspect`. */
export interface InspectOptions {
  readonly packagePath: string;
  /** Verify the metadata signature with this key; without it the signature is checked against the test key if it matches, else reported unverified. */
  readonly pubkeyPath?: string | readonly string[];
  readonly reporter?: Reporter;
  /** Retries, timeouts and CA file for a package URL. */
  readonly http?: HttpSourceOptions;
}

/** Totals for one op type or codec/differ. */
export interface OpStats {
  count: number;
  dstBytes: number;
  blobBytes: number;
}

/** An image identity, described. */
export interface ImageSummary {
  readonly sizeBytes: number;
  readonly sha256: string;
  /** `full`: every block has content (raw, or sparse without DONT_CARE); `sparse`: some blocks are DONT_CARE. */
  readonly claim: 'full' | 'sparse';
  readonly dontCareBlocks: number;
  readonly version: string;
}

/** A package, described. */
export interface InspectReport {
  readonly path: string;
  readonly formatVersion: string;
  readonly fileSizeBytes: number;
  readonly metadataVerified: boolean;
  /** Always false: inspect reads no blob and checks no payload signature (verify does). */
  readonly payloadVerified: false;
  /** The target header; `releaseLayout` only for release packages (partition layouts are per partition). */
  readonly target: Record<string, unknown>;
  readonly signature: {
    algorithm: string;
    /** The key that verified (or the first key when not verified). */
    keyId: string;
    /** Every signing key, in signature order; only present when there is more than one (format 1.2). */
    keyIds?: string[];
    metadataSignatureBytes: number;
    payloadSignatureBytes: number;
  };
  readonly sections: Record<string, { offsetBytes: number; sizeBytes: number }>;
  /** The manifest's scalars: null when it was not decoded (manifestNotDecoded). */
  readonly timestampSeconds: number | null;
  readonly sourceVersion: string | null;
  readonly targetVersion: string | null;
  readonly partitions: readonly {
    name: string;
    /** `unchanged`: listed without ops, the device keeps the source (multi-partition packages). */
    kind: 'delta' | 'full' | 'unchanged';
    /** Where the partition lives on the device, one entry per slot (release packages only). */
    layout?: readonly Record<string, string | number>[];
    source?: ImageSummary;
    target: ImageSummary;
    operationCount: number;
    byType: Record<string, OpStats>;
    byEncoding: Record<string, OpStats>;
    /**
     * In-place packages only: the stash peak (from the same proof a device runs), STASH ops, and
     * the ops the builder turned into REPLACE to stay within the stash limit.
     */
    inPlace?: { peakStashBytes: number; stashOps: number; convertedReplaceOps: number };
    /** DIFF ops that read back blocks the package wrote before (1.6), and the bytes they read. */
    targetReads?: { ops: number; bytes: number };
  }[];
  readonly maxDecoderMemoryBytes: number | null;
  readonly requiredSpaceBytes: number | null;
  /**
   * Set when the manifest was NOT decoded (an unverified package with more than
   * UNVERIFIED_OP_LIST_MAX ops): its wire counts; `partitions` is then empty and the manifest's
   * scalar fields are null (unknown, not zero).
   */
  readonly manifestNotDecoded?: { partitionCount: number; operationCount: number; extentCount: number };
}

/** Describes a package. Tries the given or test key; falls back to an unverified read. */
export async function inspectPackage(options: InspectOptions): Promise<InspectReport> {
  const reporter = options.reporter ?? new CollectingReporter();
  let reader: PackageReader;
  let metadataVerified = true;
  try {
    reader = await PackageReader.openAt(
      options.packagePath,
      { pubkeyPath: options.pubkeyPath, reporter },
      options.http,
    );
  } catch (err) {
    if (options.pubkeyPath?.length || !(err instanceof SignatureError) || err.code !== 'SIG_UNKNOWN_KEY') throw err;
    reporter.warn({
      code: 'UNVERIFIED',
      message: 'metadata signature not checked (signed by a key other than the test key; pass --pubkey to check it)',
    });
    // An unverified manifest is decoded only when it is small: anyone can sign a huge one.
    const summary = await readUnverifiedSummary(options.packagePath, options.http);
    if (summary.counts.operationCount > UNVERIFIED_OP_LIST_MAX)
      return countsOnly(displayName(options.packagePath), summary);
    reader = await PackageReader.openAt(options.packagePath, { verifyMetadata: false, reporter }, options.http);
    metadataVerified = false;
  }
  // A URL was opened metadata-only: the payload signature section is its last bytes (no blob).
  await reader.loadPayloadSignatures().finally(() => reader.close());
  const m = reader.manifest;
  const bs = m.blockSizeBytes;
  const ident = (i: ImageIdentity): ImageSummary => {
    const dontCareBlocks = totalBlocks(i.dontCare);
    return {
      sizeBytes: i.sizeBytes,
      sha256: hex(i.sha256),
      claim: dontCareBlocks > 0 ? 'sparse' : 'full',
      dontCareBlocks,
      version: i.version,
    };
  };
  const { layout } = reader;
  return {
    path: displayName(options.packagePath),
    formatVersion: `${reader.header.formatMajor}.${reader.header.formatMinor}`,
    fileSizeBytes: layout.fileSizeBytes,
    metadataVerified,
    payloadVerified: false,
    target: targetOf(reader.targetHeader),
    ...signaturesAndSections(reader.metadataSignature, reader.metadataSignatures, reader.payloadSignature, layout),
    timestampSeconds: m.timestampSeconds,
    sourceVersion: m.sourceVersion,
    targetVersion: m.targetVersion,
    partitions: m.partitions.map((p) => {
      const byType: Record<string, OpStats> = {};
      const byEncoding: Record<string, OpStats> = {};
      const add = (table: Record<string, OpStats>, key: string, dstBytes: number, blobBytes: number) => {
        const s = (table[key] ??= { count: 0, dstBytes: 0, blobBytes: 0 });
        s.count++;
        s.dstBytes += dstBytes;
        s.blobBytes += blobBytes;
      };
      const targetReads = { ops: 0, bytes: 0 };
      for (const op of p.operations) {
        const readBack = totalBlocks(targetSourceOf(op));
        if (readBack > 0) {
          targetReads.ops++;
          targetReads.bytes += readBack * bs;
        }
        const dstBytes = totalBlocks(op.dst) * bs;
        const blobBytes = blobOf(op)?.sizeBytes ?? 0;
        add(byType, op.type, dstBytes, blobBytes);
        if (op.type === 'replace') add(byEncoding, `codec:${op.codec}`, dstBytes, blobBytes);
        if (op.type === 'diff') add(byEncoding, `differ:${op.differ}`, dstBytes, blobBytes);
      }
      const layouts = reader.targetHeader.partitionLayouts.filter((l) => l.name === p.name);
      return {
        name: p.name,
        kind: isUnchanged(p) ? ('unchanged' as const) : p.source ? ('delta' as const) : ('full' as const),
        ...(layouts.length > 0
          ? { layout: layouts.map((l) => layoutFields(reader.targetHeader.releaseLayout, l)) }
          : {}),
        ...(p.source ? { source: ident(p.source) } : {}),
        target: ident(p.target),
        operationCount: p.operations.length,
        byType,
        byEncoding,
        ...(reader.targetHeader.updateMode === 'in-place' ? { inPlace: inPlaceOf(p, bs, reader.targetHeader) } : {}),
        ...(targetReads.ops > 0 ? { targetReads } : {}),
      };
    }),
    maxDecoderMemoryBytes: m.maxDecoderMemoryBytes,
    requiredSpaceBytes: m.requiredSpaceBytes,
  };
}

/** What an in-place partition costs in stash (the reader's proof, re-run; it passed at open). */
function inPlaceOf(p: PartitionUpdate, bs: number, h: TargetHeader) {
  const proof = proveInPlace(p, bs, h.maxStashBytes ?? 0);
  return {
    peakStashBytes: proof.peakStashBytes,
    stashOps: proof.stashCount,
    convertedReplaceOps: p.convertedReplaceOps ?? 0,
  };
}

/** The report of an unverified package whose manifest is not decoded (see UNVERIFIED_OP_LIST_MAX). */
function countsOnly(path: string, s: UnverifiedSummary): InspectReport {
  const { layout } = s;
  return {
    path,
    formatVersion: `${s.header.formatMajor}.${s.header.formatMinor}`,
    fileSizeBytes: layout.fileSizeBytes,
    metadataVerified: false,
    payloadVerified: false,
    target: targetOf(s.targetHeader),
    ...signaturesAndSections(s.metadataSignatures[0]!, s.metadataSignatures, s.payloadSignatures[0]!, layout),
    timestampSeconds: null,
    sourceVersion: null,
    targetVersion: null,
    partitions: [],
    maxDecoderMemoryBytes: null,
    requiredSpaceBytes: null,
    manifestNotDecoded: { ...s.counts },
  };
}

/**
 * The signature and section parts of a report, the same for a decoded and a counts-only package:
 * `meta` is the block reported as the key (the one that verified, when one did).
 */
function signaturesAndSections(
  meta: SignatureBlock,
  metadataSignatures: readonly SignatureBlock[],
  payloadSignature: SignatureBlock,
  layout: PackageLayout,
): Pick<InspectReport, 'signature' | 'sections'> {
  return {
    signature: {
      algorithm: meta.algorithm.name,
      keyId: hex(meta.keyId),
      ...(metadataSignatures.length > 1 ? { keyIds: metadataSignatures.map((b) => hex(b.keyId)) } : {}),
      metadataSignatureBytes: meta.signature.length,
      payloadSignatureBytes: payloadSignature.signature.length,
    },
    sections: {
      header: layout.header,
      targetHeader: layout.targetHeader,
      manifest: layout.manifest,
      metadataSignature: layout.metadataSignature,
      blobs: layout.blobs,
      payloadSignature: layout.payloadSignature,
    },
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function targetOf(h: TargetHeader): Record<string, unknown> {
  const { partitionLayouts: _, releaseLayout, ...rest } = h;
  return releaseLayout ? { ...rest, releaseLayout } : rest;
}

/** The fields of a partition layout that its release layout uses. */
const LAYOUT_FIELDS: Readonly<Record<string, readonly (keyof PartitionLayout)[]>> = {
  'qualcomm-rawprogram': ['slotSuffix', 'fileName', 'lun', 'startSector', 'sectorSizeBytes', 'layoutSizeBytes'],
  'mediatek-scatter': ['slotSuffix', 'fileName', 'region', 'addressBytes', 'layoutSizeBytes'],
  'unisoc-pac': ['slotSuffix', 'fileName', 'partitionId', 'addressBytes', 'layoutSizeBytes'],
  'generic-folder': ['slotSuffix', 'fileName'],
};

function layoutFields(releaseLayout: string, l: PartitionLayout): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const f of LAYOUT_FIELDS[releaseLayout] ?? []) {
    if (f === 'slotSuffix' && l.slotSuffix === '') continue;
    out[f] = l[f];
  }
  return out;
}
