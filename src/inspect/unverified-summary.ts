// What `inspect` shows of a package whose metadata signature it cannot check and whose manifest
// is large: header, target header, section sizes and the manifest's counts (walked on the wire),
// never the decoded op list, so a package signed by any key costs little to describe.

import { open } from 'node:fs/promises';
import { ioError } from '../errors/ota-error.js';
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

/** Reads header, target header and signature blocks, and counts the manifest on the wire. */
export async function readUnverifiedSummary(path: string): Promise<UnverifiedSummary> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw ioError('open package', path, err);
  });
  try {
    const read = async (offsetBytes: number, lengthBytes: number) => {
      const buf = Buffer.alloc(lengthBytes);
      const { bytesRead } = await fh.read(buf, 0, lengthBytes, offsetBytes);
      return buf.subarray(0, bytesRead);
    };
    const fileSizeBytes = (await fh.stat()).size;
    const header = decodePackageHeader(await read(0, HEADER_SIZE_BYTES), fileSizeBytes);
    const layout = packageLayout(header);
    const section = (s: { offsetBytes: number; sizeBytes: number }) => read(s.offsetBytes, s.sizeBytes);
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
    await fh.close();
  }
}
