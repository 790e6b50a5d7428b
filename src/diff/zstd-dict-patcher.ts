// The zstd-dict patcher: decodes one zstd frame with the source as raw-content dictionary (what
// `zstd -d --patch-from` does). The frame checks live in codecs/zstd-frame.ts.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { decodeZstdFrame } from '../codecs/zstd-frame.js';
import type { Patcher } from './patcher.js';
import { ZSTD_DICT_DIFFER } from './zstd-dict-descriptor.js';

/** Applies zstd-dict patches (wire id 2). */
export class ZstdDictPatcher implements Patcher {
  readonly name = ZSTD_DICT_DIFFER.name;
  readonly wireId = ZSTD_DICT_DIFFER.wireId;

  /** Decodes the frame with `source` as dictionary into exactly `expectedSizeBytes` (checked first). */
  async patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return decodeZstdFrame(this.name, patch, expectedSizeBytes, source);
  }
}
