// A sparse output for a package whose ops do not come in destination order (a full package's
// gathered REPLACE ops): the image is applied raw into the partial file, hashed there, then
// rewritten in order as an Android sparse image into a second partial name, which replaces the
// raw one. Memory: one 1 MiB read; disk: the raw image until it is converted.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { ioError } from '../errors/ota-error.js';
import { SparseImageWriter } from '../image/sparse-image-writer.js';
import { readUpTo } from '../image/read-full.js';
import type { Extent } from '../model/extent.js';
import { targetSourceOf, type Operation } from '../model/operation.js';
import type { PartitionUpdate } from '../model/manifest.js';
import type { FinishedImage, OutputImage } from './output-image.js';
import { RawOutput } from './raw-output.js';
import { hashWrittenSparse } from './sparse-output.js';
import type { FileId } from './owned-file.js';

/** Bytes read from the raw stage per step of the conversion. */
const CONVERT_STEP_BYTES = 1024 * 1024;

/** True when every op writes only blocks after all blocks the ops before it wrote. */
export function inDestinationOrder(operations: readonly Operation[]): boolean {
  let next = 0;
  for (const op of operations)
    for (const e of op.dst) {
      if (e.startBlock < next) return false;
      next = e.startBlock + e.blockCount;
    }
  return true;
}

/**
 * True when a sparse output of these ops must be staged raw first: they write out of destination
 * order (gathered full-image ops), or some op reads back blocks written before (1.6), which a
 * sparse stream cannot give back.
 */
export function needsRawStaging(operations: readonly Operation[]): boolean {
  return !inDestinationOrder(operations) || operations.some((op) => targetSourceOf(op).length > 0);
}

/** Applies raw into `path` (a partial name), then converts it to sparse in place of it at `finish`. */
export class StagedSparseOutput implements OutputImage {
  private constructor(
    private readonly raw: RawOutput,
    private readonly path: string,
    private readonly part: PartitionUpdate,
    private readonly bs: number,
  ) {}

  static async create(path: string, part: PartitionUpdate, bs: number): Promise<StagedSparseOutput> {
    return new StagedSparseOutput(await RawOutput.open(path, part, bs), path, part, bs);
  }

  write(dst: readonly Extent[], data: Buffer): Promise<void> {
    return this.raw.write(dst, data);
  }

  zero(dst: readonly Extent[]): Promise<void> {
    return this.raw.zero(dst);
  }

  readBackInto(extents: readonly Extent[], into: Buffer): Promise<void> {
    return this.raw.readBackInto(extents, into);
  }

  sync(): Promise<void> {
    return this.raw.sync();
  }

  /** Converts the finished raw stage; returns the sparse file's expanded sha256 (the caller checks it). */
  async finish(): Promise<FinishedImage> {
    const stage = await this.raw.finish();
    // A sibling of the partial with another random suffix: a partial name, so a killed run's is cleaned up.
    const sparsePath = this.path.replace(/[0-9a-f]{16}$/, randomBytes(8).toString('hex'));
    try {
      await this.convert(sparsePath, stage.fileId);
      await rename(sparsePath, this.path).catch((err) => {
        throw ioError('replace the raw stage with', sparsePath, err);
      });
    } catch (err) {
      await unlink(sparsePath).catch(() => undefined);
      throw err;
    }
    return hashWrittenSparse(this.path, this.bs);
  }

  async abort(): Promise<void> {
    await this.raw.abort();
  }

  /** Writes the raw stage, reopened without following links and checked to be the file written, as sparse. */
  private async convert(sparsePath: string, stageId: FileId | undefined): Promise<void> {
    const blockCount = this.part.target.sizeBytes / this.bs;
    const writer = await SparseImageWriter.create(sparsePath, this.bs, blockCount);
    const fh = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(async (err) => {
      await writer.abort().catch(() => undefined);
      throw ioError('read the raw stage', this.path, err);
    });
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.dev !== stageId?.dev || st.ino !== stageId.ino)
        throw ioError('read the raw stage', this.path, new Error('it is no longer the file this apply wrote'));
      const step = Buffer.alloc(Math.max(this.bs, CONVERT_STEP_BYTES - (CONVERT_STEP_BYTES % this.bs)));
      for (let block = 0; block < blockCount;) {
        const want = Math.min(step.length, (blockCount - block) * this.bs);
        const got = await readUpTo(fh, step.subarray(0, want), block * this.bs, {
          action: 'read the raw stage',
          path: this.path,
        });
        if (got !== want) throw ioError('read the raw stage', this.path, new Error(`short read at block ${block}`));
        await writer.writeData(block, step.subarray(0, want));
        block += want / this.bs;
      }
      await writer.finish();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    } finally {
      await fh.close();
    }
  }
}
