// The applier's start order for ops that read back target blocks (format 1.6, FORMAT.md §6 step
// 6): while op i is written, op i+1 is read and decoded ahead only when every block it reads
// back was written by an op before i. Here op 1 reads the last block op 0 writes, so reading it
// ahead would race op 0's 4 MiB write and find zeros (a new file) or garbage (a device), which
// the read-back hash check refuses. Each output is applied several times to give a wrong order
// every chance to show.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BSDIFF_LZMA_DIFFER } from '../../src/diff/bsdiff-lzma-descriptor.js';
import { differByName } from '../../src/diff/differ-registry.js';
import { applyPackage, verifyPackage } from '../../src/index.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { targetOf, writeOpsPackage } from '../helpers/one-op-package.js';

const BS = 4096;
const FIRST_BLOCKS = 1024; // op 0: 4 MiB, the generic target's op limit
const RUNS = 4;
const work = mkdtempSync(join(tmpdir(), 'ota-read-back-order-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const quiet = { warn() {}, progress() {} };
const blocks = (startBlock: number, blockCount: number) => [{ startBlock, blockCount }];

describe('an op that reads back what the op just before it writes', () => {
  // Op 0 writes new content A (REPLACE, no codec); op 1 writes an edited copy of A's last block,
  // coded against that block read back from the target; op 3 reads back A's first block, which op
  // 0 wrote, so it may start ahead while op 2 (a block of zeros) is written.
  const first = syntheticImage(FIRST_BLOCKS * BS, 91);
  const lastOfFirst = first.subarray(first.length - BS);
  const edited = Buffer.from(lastOfFirst);
  for (let i = 0; i < 8; i++) edited[i * 500 + 9] = edited[i * 500 + 9]! ^ 0x5a;
  const firstBlock = first.subarray(0, BS);
  const zeros = Buffer.alloc(BS);
  const next = Buffer.concat([first, edited, zeros, firstBlock]);
  let pkg = '';

  beforeAll(async () => {
    const differ = differByName('bsdiff-lzma');
    const readBack = (source: Buffer, target: Buffer) => differ.diff(source, target);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
    const memory = BSDIFF_LZMA_DIFFER.decoderMemoryBytes(BS, BS);
    pkg = await writeOpsPackage({
      dir: work,
      name: 'read-back',
      target: targetOf(next),
      ops: [
        { op: { type: 'replace', dst: blocks(0, FIRST_BLOCKS), codec: 'none' }, blob: first, decoderMemoryBytes: 0 },
        {
          op: {
            type: 'diff',
            dst: blocks(FIRST_BLOCKS, 1),
            src: [],
            targetSrc: blocks(FIRST_BLOCKS - 1, 1),
            srcSha256: sha(lastOfFirst),
            differ: 'bsdiff-lzma',
          },
          blob: await readBack(lastOfFirst, edited),
          decoderMemoryBytes: memory,
        },
        {
          op: { type: 'replace', dst: blocks(FIRST_BLOCKS + 1, 1), codec: 'none' },
          blob: zeros,
          decoderMemoryBytes: 0,
        },
        {
          op: {
            type: 'diff',
            dst: blocks(FIRST_BLOCKS + 2, 1),
            src: [],
            targetSrc: blocks(0, 1),
            srcSha256: sha(firstBlock),
            differ: 'bsdiff-lzma',
          },
          blob: await readBack(firstBlock, firstBlock),
          decoderMemoryBytes: memory,
        },
      ],
    });
  });

  it('gives the new image on a new file, every time', async () => {
    for (let run = 0; run < RUNS; run++) {
      const out = join(work, `out-${run}.img`);
      await applyPackage({ packagePath: pkg, outputPath: out, reporter: quiet });
      expect(readFileSync(out).equals(next), `run ${run}`).toBe(true);
      rmSync(out);
    }
  });

  it('gives the new image on a device holding garbage, every time', async () => {
    const device = join(work, 'device.img');
    for (let run = 0; run < RUNS; run++) {
      writeFileSync(device, syntheticImage(next.length, 100 + run));
      await applyPackage({ packagePath: pkg, outputPath: device, outputAsBlockDevice: true, reporter: quiet });
      expect(readFileSync(device).equals(next), `run ${run}`).toBe(true);
    }
    await verifyPackage({ packagePath: pkg, reporter: quiet });
  });
});
