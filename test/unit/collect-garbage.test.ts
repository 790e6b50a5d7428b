// collectGarbage: the encode workers' way to free dead chunk buffers right away.

import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/pipeline/collect-garbage.js';

describe('collectGarbage', () => {
  it('reclaims unreferenced ArrayBuffer memory at once, and can be called again', () => {
    let big: Uint8Array | undefined = new Uint8Array(96 * 1024 * 1024).fill(1);
    const held = process.memoryUsage().arrayBuffers;
    expect(held).toBeGreaterThanOrEqual(96 * 1024 * 1024);
    expect(big[12345]).toBe(1);
    big = undefined;
    collectGarbage();
    collectGarbage();
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(held - 64 * 1024 * 1024);
  });
});
