// The exec-aware differ (Courgette/BCJ-style adjust then diff): on chunks holding AArch64 or
// x86-64 code (elf-code-scan.ts), turns relative branch targets of both sides into absolute ones
// (branch-transform.ts), so calls to code that did not move read the same after the caller
// moved, and diffs the transformed data with bsdiff-lzma. The patcher inverts the transform.

import { transformBranches } from './branch-transform.js';
import { BsdiffLzmaDiffer } from './bsdiff-lzma-differ.js';
import type { Differ } from './differ.js';
import { chunkCodeArch } from './elf-code-scan.js';
import { EXEC_AWARE_DIFFER } from './exec-aware-descriptor.js';
import { writeExecAwarePatch } from './exec-aware-patch.js';

/** exec-aware (wire id 6). */
export class ExecAwareDiffer implements Differ {
  readonly name = EXEC_AWARE_DIFFER.name;
  readonly wireId = EXEC_AWARE_DIFFER.wireId;
  readonly decoderMemoryBytes = EXEC_AWARE_DIFFER.decoderMemoryBytes;
  /** Tried first, beside bsdiff-lzma, on every chunk that holds code (elsewhere it does not apply). */
  readonly traits = { tier: 'lead', slowOnZeroRuns: false } as const;
  private readonly inner = new BsdiffLzmaDiffer();

  /** True when the chunk holds AArch64 or x86-64 code (chunkCodeArch). */
  applies(source: Uint8Array, target: Uint8Array): boolean {
    return chunkCodeArch(source, target) !== undefined;
  }

  /**
   * Transforms copies of both sides for the chunk's arch (aarch64 when none is found) and makes
   * a bsdiff-lzma patch between them. Deterministic. Memory: both copies plus bsdiff-lzma's.
   */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    const arch = chunkCodeArch(source, target) ?? 'aarch64';
    const from = Buffer.from(source);
    const to = Buffer.from(target);
    transformBranches(from, arch, true);
    transformBranches(to, arch, true);
    return writeExecAwarePatch(arch, await this.inner.diff(from, to));
  }
}
