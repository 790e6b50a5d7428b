// packageBlockMap: the block map of an existing package, read from its manifest through
// PackageReader (metadata signature checked first, exactly as `inspect` does).

import { UnsupportedError } from '../errors/ota-error.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { blockMapOf, type BlockMap } from './block-map.js';

/** Which package, and how to open it. */
export interface PackageBlockMapOptions {
  readonly packagePath: string;
  readonly pubkeyPath?: string;
  /** false only when the caller already reported the metadata as unverifiable (inspect without --pubkey). */
  readonly verifyMetadata?: boolean;
  readonly reporter?: Reporter;
}

/** Reads the manifest and maps its (single) partition. */
export async function packageBlockMap(o: PackageBlockMapOptions): Promise<BlockMap> {
  const reader = await PackageReader.open(o.packagePath, { pubkeyPath: o.pubkeyPath, verifyMetadata: o.verifyMetadata, reporter: o.reporter ?? new CollectingReporter() });
  await reader.close();
  const { manifest } = reader;
  const part = manifest.partitions[0];
  if (!part || manifest.partitions.length !== 1) {
    throw new UnsupportedError('MULTI_PARTITION', `${o.packagePath} holds ${manifest.partitions.length} partitions; the block map shows one`);
  }
  return blockMapOf(part, manifest.blockSizeBytes);
}
