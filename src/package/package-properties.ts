// PackageProperties: the map a downloader reads before it touches a package (written beside it as
// update-<target>.properties.json): sizes and hashes of the file and of its metadata prefix, where
// the blob section lies, and who the package is for. Offsets come from the reader's layout
// (src/format is the only code that knows them); see FORMAT.md "Streaming a package".

import { createHash } from 'node:crypto';
import type { PackageReader } from './package-reader.js';

/** Properties file version this code writes. */
export const PROPERTIES_VERSION = 1;

/** What properties.json holds. */
export interface PackageProperties {
  readonly propertiesVersion: number;
  readonly fileSizeBytes: number;
  /** sha256 of the whole package file (hex). */
  readonly fileSha256: string;
  /** Bytes from offset 0 to the end of the metadata signature: the one range a client checks first. */
  readonly metadataSizeBytes: number;
  /** sha256 of those bytes (hex). */
  readonly metadataSha256: string;
  readonly blobSection: { readonly offsetBytes: number; readonly sizeBytes: number };
  readonly payloadSignature: { readonly offsetBytes: number; readonly sizeBytes: number };
  readonly targetId: string;
  readonly sourceVersion: string;
  readonly targetVersion: string;
  readonly timestampSeconds: number;
  readonly signatureAlgorithm: string;
  /** sha256 of each signer's public key (hex), in signature order. */
  readonly keyIds: readonly string[];
}

/** Describes an opened package; reads its metadata prefix again to hash it (small, bounded). */
export async function packageProperties(reader: PackageReader, fileSha256: string): Promise<PackageProperties> {
  const { layout, manifest } = reader;
  const prefix = await reader.readRange(0, layout.blobs.offsetBytes);
  return {
    propertiesVersion: PROPERTIES_VERSION,
    fileSizeBytes: layout.fileSizeBytes,
    fileSha256,
    metadataSizeBytes: layout.blobs.offsetBytes,
    metadataSha256: createHash('sha256').update(prefix).digest('hex'),
    blobSection: { ...layout.blobs },
    payloadSignature: { ...layout.payloadSignature },
    targetId: reader.targetHeader.targetId,
    sourceVersion: manifest.sourceVersion,
    targetVersion: manifest.targetVersion,
    timestampSeconds: manifest.timestampSeconds,
    signatureAlgorithm: reader.targetHeader.signatureAlgorithm,
    keyIds: reader.metadataSignatures.map((b) => Buffer.from(b.keyId).toString('hex')),
  };
}

/** The properties file name beside a package `update-<target>.otapkg`. */
export function propertiesPathOf(packagePath: string): string {
  return packagePath.replace(/\.otapkg$/, '') + '.properties.json';
}
