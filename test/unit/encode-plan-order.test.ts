// encodePlan's scheduling (pipeline/encode-plan.ts): a slow chunk at the head of the plan does not
// hold the other workers back (later chunks keep being encoded, up to a bound on those waiting
// for it), and the operations still come out in plan order, whatever order the encoder finishes in.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
const CHUNKS = 20;

/** An image of CHUNKS blocks, block i filled with i + 1. */
function memoryImage(): BlockSource {
  const data = Buffer.alloc(CHUNKS * BLOCK_BYTES);
  for (let i = 0; i < CHUNKS; i++) data.fill(i + 1, i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES);
  return {
    path: 'memory',
    format: 'memory',
    sizeBytes: data.length,
    read: async (offset, length) => Buffer.from(data.subarray(offset, offset + length)),
  } as BlockSource;
}

/**
 * A 2-job encoder that answers every chunk at once (stored as is), except the first block's,
 * which it holds until release() is called.
 */
class HeadHoldingEncoder implements ChunkEncoder {
  readonly jobs = 2;
  readonly calls: number[] = [];
  private releaseHead: (() => void) | undefined;
  private readonly headHeld = new Promise<void>((resolve) => (this.releaseHead = resolve));

  async encode(task: EncodeTask): Promise<EncodedCandidate[]> {
    const block = task.newData[0]! - 1;
    this.calls.push(block);
    if (block === 0) await this.headHeld;
    return [
      { spec: { kind: 'replace', codec: 'none', level: 0 }, bytes: Buffer.from(task.newData), decoderMemoryBytes: 0 },
    ];
  }

  release(): void {
    this.releaseHead!();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('encodePlan scheduling', () => {
  it('keeps encoding past a slow head chunk, up to its bound, and writes the ops in plan order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-encode-plan-'));
    dirs.push(dir);
    const [generic] = await resolveTargets('generic');
    const assembly = new TargetAssembly(generic!, {} as Signer, generic!.defaultPlatform);
    const spool = await BlobSpool.create(dir);
    const encoder = new HeadHoldingEncoder();
    const items: PlanStep[] = Array.from({ length: CHUNKS }, (_, i) => ({
      kind: 'gathered',
      dst: [{ startBlock: i, blockCount: 1 }],
    }));
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
    // 2 jobs: 4 chunks may be encoding and 8 wait unconsumed (the head is 1 of them): while the
    // head is held, the others are encoded until 8 are, and no more.
    await vi.waitFor(() => expect(encoder.calls.length).toBe(8), { timeout: 10_000, interval: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(encoder.calls.length).toBe(8);
    expect(assembly.operations).toEqual([]);
    encoder.release();
    await done;
    expect(encoder.calls.length).toBe(CHUNKS);
    expect(assembly.operations.map((op) => op.dst[0]!.startBlock)).toEqual(items.map((_, i) => i));
    await spool.dispose();
  });
});
