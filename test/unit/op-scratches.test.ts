// The applier's reused buffers (OpScratches, produce-step.ts): the two in-flight steps never share
// a source or an output, a step's patcher buffers never overlap one another, and the arena they
// come from is reused from step to step, holding only the most one step asked for.

import { describe, expect, it } from 'vitest';
import { OpScratches } from '../../src/apply/produce-step.js';

/** True when the two views share any byte of memory. */
function overlap(a: Buffer, b: Buffer): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

describe('OpScratches', () => {
  it('gives the two in-flight steps their own source and output, reused two steps later', () => {
    const scratches = new OpScratches();
    const [a, b, c] = [0, 1, 2].map((i) => scratches.forStep(i));
    const outputs = [a, b, c].map((s) => s!.patch(4096, 'output'));
    const sources = [a, b, c].map((s) => s!.source.take(4096));
    expect(overlap(outputs[0]!, outputs[1]!)).toBe(false);
    expect(overlap(sources[0]!, sources[1]!)).toBe(false);
    expect(outputs[2]!.buffer).toBe(outputs[0]!.buffer);
    expect(sources[2]!.buffer).toBe(sources[0]!.buffer);
  });

  it("lends each of a step's other uses disjoint bytes of one arena, reused and grown to the most a step asked", () => {
    const scratches = new OpScratches();
    const first = scratches.forStep(0);
    const lent = (['work', 'control', 'diff', 'extra'] as const).map((use, i) => first.patch(1000 * (i + 1), use));
    expect(lent.map((b) => b.length)).toEqual([1000, 2000, 3000, 4000]);
    for (let i = 0; i < lent.length; i++)
      for (let j = i + 1; j < lent.length; j++) expect(overlap(lent[i]!, lent[j]!)).toBe(false);
    expect(lent.some((b) => overlap(b, first.patch(5000, 'output')))).toBe(false);
    // The next step starts at the front of the same arena (the previous step is done with it).
    const second = scratches.forStep(1);
    const work = second.patch(9000, 'work');
    expect(work.buffer).toBe(lent[3]!.buffer);
    expect(work.byteOffset).toBe(0);
    // A step asking for more than the arena holds gets a larger one; the earlier views stay valid.
    const more = second.patch(5000, 'control');
    expect(more.length).toBe(5000);
    expect(overlap(more, work)).toBe(false);
    expect(scratches.forStep(2).patch(14_000, 'work').buffer).toBe(more.buffer);
  });

  it('grows the arena and the slots a whole MiB at a time, not by the few KiB one step asks more than the last', () => {
    const MiB = 1024 * 1024;
    const scratches = new OpScratches();
    const first = scratches.forStep(0);
    const work = first.patch(4 * MiB + 100, 'work');
    const control = first.patch(2000, 'control');
    expect(control.buffer).toBe(work.buffer); // 5 MiB: room for both
    expect(work.buffer.byteLength).toBe(5 * MiB);
    const output = first.patch(MiB + 1, 'output');
    // Two steps later: more than before by a few KiB each, all in the same buffers.
    const third = scratches.forStep(2);
    expect(third.patch(4 * MiB + 3000, 'work').buffer).toBe(work.buffer);
    expect(third.patch(5000, 'diff').buffer).toBe(work.buffer);
    expect(third.patch(MiB + 9000, 'output').buffer).toBe(output.buffer);
    expect(output.buffer.byteLength).toBe(2 * MiB);
  });
});
