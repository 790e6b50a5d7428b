// packageBlockMaps: the block map of each partition of an existing package, read from its
// manifest through PackageReader (metadata signature checked first, exactly as `inspect` does).
// A package URL is read by ranges: only its metadata is downloaded (no blob is needed).

import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { blockMapOf, type BlockMap } from './block-map.js';

/** Which package, and how to open it. */
export interface PackageBlockMapOptions {
  /** A package file or http(s) URL. */
  readonly packagePath: string;
  readonly pubkeyPath?: string | readonly string[];
  /** false only when the caller already reported the metadata as unverifiable (inspect without --pubkey). */
  readonly verifyMetadata?: boolean;
  readonly reporter?: Reporter;
  /** Retries, timeouts and CA file for a package URL. */
  readonly http?: HttpSourceOptions;
}

/** One partition's block map. */
export interface PartitionBlockMap {
  readonly name: string;
  readonly map: BlockMap;
}

/** Reads the manifest and maps every partition, in manifest order. */
export async function packageBlockMaps(o: PackageBlockMapOptions): Promise<PartitionBlockMap[]> {
  const reader = await PackageReader.openAt(
    o.packagePath,
    { pubkeyPath: o.pubkeyPath, verifyMetadata: o.verifyMetadata, reporter: o.reporter ?? new CollectingReporter() },
    o.http,
  );
  await reader.close();
  const { manifest } = reader;
  return manifest.partitions.map((p) => ({ name: p.name, map: blockMapOf(p, manifest.blockSizeBytes) }));
}
