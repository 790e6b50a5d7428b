// Applies one partition update to its output: checks the old image against the source identity,
// then writes every step (the package's ops, or for an unchanged partition a verified copy of
// the old image) into a partial file, checkpointing raw outputs, and renames it into place only
// when the output's sha256 matches the target. Shared by single-image and release applies.

import { createHash } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { decoderFor } from '../codecs/decoder-registry.js';
import { patcherFor } from '../diff/patcher-registry.js';
import { VerificationError, ioError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import type { BlockSource } from '../image/block-source.js';
import { readExtents } from '../image/extent-io.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import { isUnchanged, type PartitionUpdate } from '../model/manifest.js';
import { assertNever, type Operation } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';
import { chainStep, removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { hashSource } from './hash-source.js';
import { createOutputImage, type OutputFormat, type OutputImage } from './output-image.js';
import type { ResumeState } from './resume-point.js';

/**
 * One write of the applier: a package op, or `keep` — copy the same blocks from the old image
 * (an unchanged partition, whose source hash was checked as a whole just before).
 */
export type ApplyStep = Operation | { readonly type: 'keep'; readonly dst: readonly Extent[] };

/** Destination bytes between checkpoints unless the caller says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY_BYTES = 64 * 1024 * 1024;
/** Scratch space beyond the outputs: checkpoint files and one op's temp files. */
export const SCRATCH_BYTES = 8 * 1024 * 1024;

/** Blocks per `keep` step: 1 MiB at 4 KiB blocks. */
const KEEP_STEP_BYTES = 1024 * 1024;

/** The steps that write a partition, in order. */
export function applySteps(part: PartitionUpdate, blockSizeBytes: number): readonly ApplyStep[] {
  if (!isUnchanged(part)) return part.operations;
  const blocks = blockCountOf(part.target.sizeBytes, blockSizeBytes);
  const perStep = Math.max(1, Math.floor(KEEP_STEP_BYTES / blockSizeBytes));
  const dontCare = [...part.target.dontCare].sort((a, b) => a.startBlock - b.startBlock);
  const steps: ApplyStep[] = [];
  let at = 0;
  const keep = (until: number) => {
    for (; at < until; at = Math.min(until, at + perStep))
      steps.push({ type: 'keep', dst: [{ startBlock: at, blockCount: Math.min(perStep, until - at) }] });
  };
  for (const d of dontCare) {
    keep(d.startBlock);
    at = d.startBlock + d.blockCount;
  }
  keep(blocks);
  return steps;
}

/** Checks the old image against the package's source identity; returns its sha256 (hex). */
export async function checkBase(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  const expected = Buffer.from(part.source!.sha256).toString('hex');
  if (old.sizeBytes !== part.source!.sizeBytes) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} is ${old.sizeBytes} bytes; the package was built from a ${part.source!.sizeBytes}-byte image (sha256 ${expected.slice(0, 16)}…)`,
    );
  }
  // DONT_CARE blocks of the source are undefined on the device: they count as zeros.
  const actual = (await hashSource(old, part.source!.dontCare, blockSizeBytes)).toString('hex');
  if (actual !== expected) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} has sha256 ${actual.slice(0, 16)}…, the package needs ${expected.slice(0, 16)}…`,
    );
  }
  return actual;
}

/** What writeOutput needs. */
export interface WriteJob {
  readonly reader: PackageReader;
  readonly part: PartitionUpdate;
  readonly steps: readonly ApplyStep[];
  readonly old: BlockSource | undefined;
  readonly outputPath: string;
  readonly partialPath: string;
  readonly checkpointPath: string;
  readonly format: OutputFormat;
  readonly state: ResumeState;
  readonly oldSha256: string;
  readonly everyBytes: number;
}

/** Writes the steps from the resume point on; renames into place when the sha256 matches. Returns it (hex). */
export async function writeOutput(j: WriteJob): Promise<string> {
  const bs = j.reader.manifest.blockSizeBytes;
  let out: OutputImage | undefined = j.state.output;
  let { chain, bytesWritten } = j.state;
  let sinceCheckpoint = 0;
  try {
    out ??= await createOutputImage(j.format, j.partialPath, j.part, bs);
    for (let i = j.state.completedOps; i < j.steps.length; i++) {
      const op = j.steps[i]!;
      const where = `partition ${j.part.name} op ${i} (${op.type})`;
      const data = await produce(j.reader, op, j.old, bs, where);
      if (data) await out.write(op.dst, data);
      else await out.zero(op.dst);
      const dstBytes = totalBlocks(op.dst) * bs;
      chain = chainStep(chain, data ? sha256Of(data) : zerosSha256(dstBytes));
      bytesWritten += dstBytes;
      sinceCheckpoint += dstBytes;
      if (j.format === 'raw' && sinceCheckpoint >= j.everyBytes && i + 1 < j.steps.length) {
        // Data first, then the checkpoint that names it: a checkpoint never claims unwritten bytes.
        await out.sync();
        await writeCheckpoint(j.checkpointPath, {
          packageDigest: j.reader.metadataSha256.toString('hex'),
          oldSha256: j.oldSha256,
          completedOps: i + 1,
          bytesWritten,
          chain,
        });
        sinceCheckpoint = 0;
      }
    }
    const actual = await out.finish();
    out = undefined;
    if (!actual.equals(Buffer.from(j.part.target.sha256))) {
      throw new VerificationError(
        'OUTPUT_MISMATCH',
        `applied image has sha256 ${actual.toString('hex').slice(0, 16)}…, the package promises ${Buffer.from(j.part.target.sha256).toString('hex').slice(0, 16)}…; nothing was written to ${j.outputPath}`,
      );
    }
    try {
      await rename(j.partialPath, j.outputPath);
    } catch (err) {
      throw ioError('rename output to', j.outputPath, err);
    }
    await removeCheckpoint(j.checkpointPath);
    return actual.toString('hex');
  } catch (err) {
    // A failure (not an interruption) is final: nothing partial is kept to resume from.
    await out?.abort();
    await unlink(j.partialPath).catch(() => undefined);
    await removeCheckpoint(j.checkpointPath);
    // Only file-system failures become I/O errors; anything else is a bug and must say so.
    if ((err as NodeJS.ErrnoException).code && !(err as { exitCode?: number }).exitCode)
      throw ioError('write output', j.partialPath, err);
    throw err;
  }
}

async function produce(
  reader: PackageReader,
  op: ApplyStep,
  old: BlockSource | undefined,
  bs: number,
  where: string,
): Promise<Buffer | undefined> {
  const dstBytes = totalBlocks(op.dst) * bs;
  switch (op.type) {
    case 'zero':
      return undefined;
    case 'keep':
      return readExtents(old!, op.dst, bs);
    case 'copy':
      return readSource(old!, op.src, op.srcSha256, bs, where);
    case 'replace':
      return decoderFor(op.codec).decode(await reader.readBlob(op.blob, where), dstBytes);
    case 'diff': {
      const src = await readSource(old!, op.src, op.srcSha256, bs, where);
      return patcherFor(op.differ).patch(src, await reader.readBlob(op.blob, where), dstBytes);
    }
    default:
      return assertNever(op);
  }
}

async function readSource(
  old: BlockSource,
  extents: readonly Extent[],
  sha256: Uint8Array,
  bs: number,
  where: string,
): Promise<Buffer> {
  const data = await readExtents(old, extents, bs);
  if (!sha256Of(data).equals(Buffer.from(sha256))) {
    throw new VerificationError('SOURCE_MISMATCH', `${where}: old image blocks do not match the package's source hash`);
  }
  return data;
}

function sha256Of(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

/** sha256 of `sizeBytes` zero bytes, without allocating them. */
function zerosSha256(sizeBytes: number): Buffer {
  const h = createHash('sha256');
  for (let left = sizeBytes; left > 0; left -= ZERO_CHUNK.length)
    h.update(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  return h.digest();
}
