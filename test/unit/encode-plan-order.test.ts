// encodePlan's scheduling (pipeline/encode-plan.ts): a slow chunk at the head of the plan does not
// hold the other workers back (later chunks keep being encoded, up to the bounds on those encoding
// and on the bytes of those waiting for it), the operations still come out in plan order whatever order the
// encoder finishes in, and a failing chunk fails the plan with its own error.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encoderByName } from '../../src/codecs/encoder-registry.js';
import type { BlockSource } from '../../src/image/block-source.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import type { ChunkEncoder } from '../../src/pipeline/chunk-encoder.js';
import { encodePlan, targetNeeds } from '../../src/pipeline/encode-plan.js';
import type { EncodeTask } from '../../src/pipeline/encode-task.js';
import { TargetAssembly } from '../../src/pipeline/target-assembly.js';
import type { EncodedCandidate } from '../../src/planner/candidates.js';
import type { PlanStep } from '../../src/planner/plan-items.js';
import { CollectingReporter } from '../../src/reporter.js';
import type { Signer } from '../../src/signing/signer.js';
import { resolveTargets } from '../../src/targets/target-registry.js';

const BLOCK_BYTES = 4096;
const BLOCKS = 24;

/** An image of BLOCKS blocks, block i filled with i + 1 (so a chunk names its block). */
function memoryImage(): BlockSource {
  const data = Buffer.alloc(BLOCKS * BLOCK_BYTES);
  for (let i = 0; i < BLOCKS; i++) data.fill(i + 1, i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES);
  return {
    path: 'memory',
    format: 'memory',
    sizeBytes: data.length,
    read: async (offset, length) => Buffer.from(data.subarray(offset, offset + length)),
  } as BlockSource;
}

/**
 * A 2-job encoder that stores every chunk as is (or, `tiny`, gzips it into a buffer of its own: a
 * block of one byte value makes a few dozen bytes, as a small patch would): at once, except the
 * blocks in `held` (until release()) and those in `slow` (after 30 ms), failing the block
 * `failing`. Records the blocks asked for and the most encodes running at once.
 */
class ScriptedEncoder implements ChunkEncoder {
  readonly jobs = 2;
  readonly calls: number[] = [];
  peakRunning = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private releasing = false;

  constructor(
    private readonly held: ReadonlySet<number>,
    private readonly failing = -1,
    private readonly tiny = false,
    private readonly slow: ReadonlySet<number> = new Set(),
  ) {}

  async encode(task: EncodeTask): Promise<EncodedCandidate[]> {
    const block = task.newData[0]! - 1;
    this.calls.push(block);
    this.peakRunning = Math.max(this.peakRunning, ++this.running);
    try {
      if (this.held.has(block) && !this.releasing) await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.slow.has(block)) await new Promise((resolve) => setTimeout(resolve, 30));
      if (block === this.failing) throw new Error(`chunk ${block} failed`);
      if (this.tiny) {
        const spec = { kind: 'replace', codec: 'gzip', level: 9 } as const;
        const gzip = encoderByName('gzip');
        const bytes = Buffer.from(new Uint8Array(await gzip.encode(task.newData, 9)).buffer);
        return [{ spec, bytes, decoderMemoryBytes: gzip.decoderMemoryBytes(9, task.newData.length) }];
      }
      const spec = { kind: 'replace', codec: 'none', level: 0 } as const;
      return [{ spec, bytes: Buffer.from(task.newData), decoderMemoryBytes: 0 }];
    } finally {
      this.running--;
    }
  }

  release(): void {
    this.releasing = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs encodePlan over one-block chunks (a zero item after every fourth) with `encoder`. */
async function runPlan(encoder: ScriptedEncoder, whileRunning: () => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'ota-encode-plan-'));
  dirs.push(dir);
  const [generic] = await resolveTargets('generic');
  const assembly = new TargetAssembly(generic!, {} as Signer, generic!.defaultPlatform);
  const spool = await BlobSpool.create(dir);
  const items: PlanStep[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    items.push({ kind: 'gathered', dst: [{ startBlock: i, blockCount: 1 }] });
    if (i % 4 === 3) items.push({ kind: 'zero', dst: { startBlock: BLOCKS + i, blockCount: 1 } });
  }
  const done = encodePlan({
    items,
    next: memoryImage(),
    old: undefined,
    blockSizeBytes: BLOCK_BYTES,
    specs: [{ kind: 'replace', codec: 'none', level: 0 }],
    encoder,
    spool,
    assemblies: [assembly],
    reporter: new CollectingReporter(),
    targetNeeds: targetNeeds([generic!]),
  });
  done.catch(() => undefined); // awaited below
  try {
    await whileRunning();
  } finally {
    encoder.release();
    await done.catch(() => undefined);
    await spool.dispose();
  }
  return { done, assembly, items };
}

describe('encodePlan scheduling', () => {
  it('keeps encoding past a slow head chunk, up to its bounds, and writes the ops in plan order', async () => {
    const encoder = new ScriptedEncoder(new Set([0]));
    const { done, assembly, items } = await runPlan(encoder, async () => {
      // 2 jobs: 4 chunks may be encoding, and no more start once those waiting for the head hold 4
      // chunks' bytes (results as large as their chunks), so while the head is held 4 more are
      // encoded, plus up to 3 that were started before the 4th finished: 5 to 8 in all.
      await vi.waitFor(() => expect(encoder.calls.length).toBeGreaterThanOrEqual(5), { timeout: 10_000, interval: 5 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const calls = encoder.calls.length;
      expect(calls).toBeLessThanOrEqual(8);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(encoder.calls.length).toBe(calls);
    });
    await done;
    expect(encoder.calls.length).toBe(BLOCKS);
    const ops = assembly.operations;
    const firstBlock = (item: PlanStep) =>
      item.kind === 'zero' ? item.dst.startBlock : item.kind === 'gathered' ? item.dst[0]!.startBlock : -1;
    expect(ops.map((op) => op.dst[0]!.startBlock)).toEqual(items.map(firstBlock));
    // Blobs were spooled in plan order too.
    const offsets = ops.flatMap((op) => ('blob' in op ? [op.blob.offsetBytes] : []));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('behind a slow head chunk, small results do not stop the others: all are encoded before it', async () => {
    // The bound is bytes, not chunks: small patches behind a slow chunk once stopped a worker after 8.
    const encoder = new ScriptedEncoder(new Set([0]), -1, true);
    const { done, assembly } = await runPlan(encoder, async () => {
      await vi.waitFor(() => expect(encoder.calls.length).toBe(BLOCKS), { timeout: 10_000, interval: 5 });
    });
    await done;
    expect(encoder.peakRunning).toBeLessThanOrEqual(4);
    expect(assembly.operations.filter((op) => op.type !== 'zero')).toHaveLength(BLOCKS);
  });

  it('a slow chunk every few, with results as large as their chunks: the plan goes through in order', async () => {
    // A slow head chunk is sometimes taken before it finishes (the waiting bytes at the bound):
    // its result must not count as waiting after that, or the bound shrinks for good and stalls.
    const encoder = new ScriptedEncoder(new Set(), -1, false, new Set([0, 5, 10, 15, 20]));
    const { done, assembly, items } = await runPlan(encoder, async () => {
      await vi.waitFor(() => expect(encoder.calls.length).toBe(BLOCKS), { timeout: 10_000, interval: 5 });
    });
    await done;
    expect(assembly.operations.map((op) => op.dst[0]!.startBlock)).toEqual(
      items.map((item) =>
        item.kind === 'zero' ? item.dst.startBlock : item.kind === 'gathered' ? item.dst[0]!.startBlock : -1,
      ),
    );
  });

  it('never has more chunks encoding than the window, when many are slow', async () => {
    const encoder = new ScriptedEncoder(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    await runPlan(encoder, async () => {
      await vi.waitFor(() => expect(encoder.calls.length).toBe(4), { timeout: 10_000, interval: 5 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(encoder.calls.length).toBe(4);
    });
    expect(encoder.peakRunning).toBe(4);
  });

  it("fails with a failing chunk's own error, in plan order, and starts nothing after it", async () => {
    // Chunks 0-2 held and 3 failing: the window is full until 3 fails, and then nothing more starts.
    const encoder = new ScriptedEncoder(new Set([0, 1, 2]), 3);
    const { done } = await runPlan(encoder, async () => {
      await vi.waitFor(() => expect(encoder.calls).toContain(3), { timeout: 10_000, interval: 5 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(encoder.calls).toEqual([0, 1, 2, 3]);
    });
    await expect(done).rejects.toThrow('chunk 3 failed');
    expect(encoder.calls).toEqual([0, 1, 2, 3]);
  });
});
