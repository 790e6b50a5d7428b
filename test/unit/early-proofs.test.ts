// Early self-checks (pipeline/early-proofs.ts): on a full image's chunk where a slow codec still
// runs after the sourceless diff, the diff is proven while the codec codes. The kept diff comes
// back proven, and a bad one is still refused (an early failure is not taken as a proof).

import { describe, expect, it } from 'vitest';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { EarlyProofs } from '../../src/pipeline/early-proofs.js';
import { encodeChunk } from '../../src/pipeline/encode-chunk.js';
import type { EncodeTask } from '../../src/pipeline/encode-task.js';
import type { CandidateSpec } from '../../src/planner/candidates.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import { randomBytes, textLike } from '../codecs/sample-data.js';
import { zipArchive } from '../helpers/zip-archive.js';

const KiB = 1024;
const SPECS: CandidateSpec[] = [
  { kind: 'replace', codec: 'none', level: 0 },
  { kind: 'replace', codec: 'gzip', level: 9 },
  { kind: 'replace', codec: 'xz', level: 9 },
  { kind: 'diff', differ: 'deflate-aware' },
];

/**
 * Deflated text and as many random bytes of 181 values (7.5 bits a byte: under the entropy from
 * which the floor counts bytes between streams, yet barely compressible): the sourceless diff
 * beats xz but not its floor, so xz runs.
 */
async function chunkTask(): Promise<EncodeTask> {
  // Text that repeats past deflate's 32 KiB window: LZMA codes it far smaller than deflate did.
  const text = textLike(300 * KiB, 21);
  const zip = zipArchive([{ name: 'a.js', data: Buffer.concat(Array.from({ length: 4 }, () => text)), level: 6 }]);
  const [generic] = await resolveTargets('generic');
  return {
    newData: Buffer.concat([zip, randomBytes(zip.length, 22).map((b) => b % 181)]),
    sourceData: new Uint8Array(0),
    specs: SPECS,
    replaceRequired: false,
    fullImage: true,
    targets: [generic!],
    where: 'a test chunk',
  };
}

/** deflate-aware, but its patch makes the target with one byte of the random part flipped. */
class OffByOneDiffer extends DeflateAwareDiffer {
  override async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    const wrong = Buffer.from(target);
    wrong[wrong.length - 100]! ^= 1;
    return super.diff(source, wrong);
  }
}

describe('early self-checks', () => {
  it('return the kept sourceless diff proven where xz ran after it', async () => {
    const task = await chunkTask();
    const out = await encodeChunk(task);
    const labels = out.map((c) => (c.spec.kind === 'diff' ? c.spec.differ : c.spec.codec));
    expect(labels).toContain('xz');
    const diff = out.find((c) => c.spec.kind === 'diff')!;
    const xz = out.find((c) => c.spec.kind === 'replace' && c.spec.codec === 'xz')!;
    expect(diff.bytes.length).toBeLessThan(xz.bytes.length);
    expect(diff.selfCheckedBytes).toBe(task.newData.length);
  });

  it('settle: a good candidate comes back proven, a bad one comes back as it was (for proveKept to refuse)', async () => {
    const task = await chunkTask();
    const made = await new DeflateAwareDiffer().diff(new Uint8Array(0), task.newData);
    const spec = SPECS[3]!;
    const good = { spec, bytes: made, decoderMemoryBytes: 1 << 30 };
    const wrong = Buffer.from(task.newData);
    wrong[wrong.length - 100]! ^= 1;
    const bad = {
      spec,
      bytes: await new DeflateAwareDiffer().diff(new Uint8Array(0), wrong),
      decoderMemoryBytes: 1 << 30,
    };
    const early = new EarlyProofs(task);
    early.add(good);
    early.add(bad);
    early.beginWaiting();
    const [provenGood, settledBad] = await early.settle([good, bad]);
    expect(provenGood).not.toBe(good);
    expect(provenGood!.selfCheckedBytes).toBe(task.newData.length);
    expect(settledBad).toBe(bad);
    expect(settledBad!.selfCheckedBytes).toBeUndefined();
  });

  it('still refuse a kept diff that does not reproduce its chunk', async () => {
    const task = await chunkTask();
    await expect(encodeChunk(task, { differs: [new OffByOneDiffer()] })).rejects.toMatchObject({
      code: 'SELF_CHECK_FAILED',
    });
  });
});
