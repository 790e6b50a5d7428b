// joinsFoundRuns: found runs join changed chunks for every built-in target (its bsdiff-lzma fits
// its decoder memory), and not for a target no differ fits or one without DIFF.

import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, joinsFoundRuns } from '../../src/pipeline/prepared-images.js';
import { resolveTargets } from '../../src/targets/target-registry.js';

describe('joinsFoundRuns', () => {
  it('joins for each built-in target alone and for all together, at their own op sizes', async () => {
    const all = await resolveTargets('generic,qualcomm,mediatek,unisoc');
    for (const p of all) expect(joinsFoundRuns([p], p.maxOperationBytes), p.id).toBe(true);
    expect(joinsFoundRuns(all, Math.min(...all.map((p) => p.maxOperationBytes)))).toBe(true);
  });

  it('does not join where no allowed differ fits the decoder memory, or DIFF is not allowed', async () => {
    const [generic] = await resolveTargets('generic');
    expect(joinsFoundRuns([{ ...generic!, decoderMemoryLimitBytes: 1024 * 1024 }], CHUNK_BYTES)).toBe(false);
    expect(joinsFoundRuns([{ ...generic!, allowedOperations: ['zero', 'copy', 'replace'] }], CHUNK_BYTES)).toBe(false);
    // One target that cannot join decides for a build of several (they share one plan).
    expect(joinsFoundRuns([generic!, { ...generic!, decoderMemoryLimitBytes: 1024 * 1024 }], CHUNK_BYTES)).toBe(false);
  });
});
