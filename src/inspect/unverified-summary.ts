// What `inspect` shows of a package whose metadata signature it cannot check and whose manifest
// is large: header, target header, section sizes and the manifest's counts (walked on the wire),
// never the decoded op list, so a package signed by any key costs little to describe.

import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { HEADER_SIZE_BYTES } from '../format/limits.js';
import { checkManifestCounts, type ManifestCounts } from '../format/manifest-counts.js';
import {
  decodePackageHeader,
  packageLayout,
  type PackageHeader,
  type PackageLayout,
} from '../format/package-header.js';
import { decodeSignatureSection } from '../format/signature-section.js';
import type { SignatureBlock } from '../format/signature-block.js';
import { decodeTargetHeader } from '../format/target-header-codec.js';
import type { TargetHeader } from '../model/target-header.js';
import { openPackageSource } from '../transport/open-package-source.js';

/** Unverified packages with more operations than this are described without their op list. */
export const UNVERIFIED_OP_LIST_MAX = 1000;

/** The parts of an unverified package read without decoding its manifest. */
export interface UnverifiedSummary {
  readonly header: PackageHeader;
  readonly layout: PackageLayout;
  readonly targetHeader: TargetHeader;
  readonly counts: ManifestCounts;
  readonly metadataSignatures: readonly SignatureBlock[];
  readonly payloadSignatures: readonly SignatureBlock[];
}

/**
 * Reads header, target header and signature blocks, and counts the manifest on the wire, from a
 * package file or URL (only those sections are read or fetched).
 */
export async function readUnverifiedSummary(where: string, http?: HttpSourceOptions): Promise<UnverifiedSummary> {
  const source = await openPackageSource(where, http);
  try {
    const header = decodePackageHeader(
      await source.read(0, Math.min(HEADER_SIZE_BYTES, source.sizeBytes)),
      source.sizeBytes,
    );
    const layout = packageLayout(header);
    const section = (s: { offsetBytes: number; sizeBytes: number }) => source.read(s.offsetBytes, s.sizeBytes);
    const sigs = async (s: { offsetBytes: number; sizeBytes: number }, what: string) =>
      decodeSignatureSection(await section(s), s.offsetBytes, what);
    return {
      header,
      layout,
      targetHeader: decodeTargetHeader(await section(layout.targetHeader)),
      counts: checkManifestCounts(await section(layout.manifest)),
      metadataSignatures: await sigs(layout.metadataSignature, 'metadata signature'),
      payloadSignatures: await sigs(layout.payloadSignature, 'payload signature'),
    };
  } finally {
    await source.close();
  }
}
