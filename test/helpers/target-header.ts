// The target header of a generic A/B package with 4 KiB blocks, for tests that write packages by
// hand (writePackage) or check manifests against a target; fields overridden per test.

import type { TargetHeader } from '../../src/model/target-header.js';

/** A generic ed25519 A/B target header (1 GiB decoder memory, 4 MiB ops), with `over` applied. */
export function genericTargetHeader(over: Partial<TargetHeader> = {}): TargetHeader {
  return {
    targetId: 'generic',
    vendor: 'Generic',
    platform: 'generic',
    storage: 'generic',
    blockSizeBytes: 4096,
    updateMode: 'ab',
    signatureAlgorithm: 'ed25519',
    decoderMemoryLimitBytes: 1 << 30,
    maxOperationBytes: 1 << 22,
    partitionLayout: 'generic',
    slotSuffixes: [],
    releaseLayout: '',
    partitionLayouts: [],
    ...over,
  };
}
