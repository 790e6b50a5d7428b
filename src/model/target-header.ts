// TargetHeader: what a package says about the chipset target it was built for (FORMAT.md §3).

import type { SignatureAlgorithmName, StorageType, UpdateMode } from './target-profile.js';

/** The per-target header of one package. */
export interface TargetHeader {
  readonly targetId: string;
  readonly vendor: string;
  readonly platform: string;
  readonly storage: StorageType;
  readonly blockSizeBytes: number;
  readonly updateMode: UpdateMode;
  readonly signatureAlgorithm: SignatureAlgorithmName;
  readonly decoderMemoryLimitBytes: number;
  readonly maxOperationBytes: number;
  readonly partitionLayout: string;
  readonly slotSuffixes: readonly string[];
}
