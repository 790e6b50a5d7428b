// One pass over an in-place partition's ops (FORMAT.md §4b), as a check (no write: may the image
// be updated from here?) or for real. Per op: a writing op whose destination already holds its
// target is done; one whose source (image blocks, plus the blocks of the stashes it names) hashes
// right, or that has no source, runs; anything else is refused. A STASH is kept when its file is
// good, written when the image still holds its blocks, else gone (fine only if no pending op
// needs it). Flushes keep power loss safe: the image is fsynced before a FREE drops a stash and
// before an op overwrites a block that an op run since the last flush read.

import { createHash } from 'node:crypto';
import { decoderFor } from '../codecs/decoder-registry.js';
import { patcherFor } from '../diff/patcher-registry.js';
import { VerificationError } from '../errors/ota-error.js';
import { isIdentityCopy } from '../format/in-place-proof.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { stashIdsOf, type Operation, type StashOperation } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';
import type { InPlaceImage } from './in-place-image.js';
import type { StashStore } from './stash-store.js';

/** Largest image (in blocks) whose "read since the last flush" marks are kept per block (64 MiB of marks). */
const MAX_MARKED_BLOCKS = 2 ** 24;

/** What a pass did. */
export interface InPlaceCounts {
  opsRun: number;
  opsSkipped: number;
}

const sha256Of = (data: Uint8Array) => createHash('sha256').update(data).digest();

/** One pass; `write` false checks only (nothing is written, no stash file either). */
export class InPlaceRun {
  readonly counts: InPlaceCounts = { opsRun: 0, opsSkipped: 0 };
  private readonly stashes = new Map<number, { op: StashOperation; where: 'file' | 'image' | 'gone' }>();
  private readonly readMarks: Uint32Array | undefined;
  private generation = 1;
  private dirty = false;

  constructor(
    private readonly reader: PackageReader,
    private readonly part: PartitionUpdate,
    private readonly image: InPlaceImage,
    private readonly store: StashStore,
    private readonly bs: number,
    private readonly write: boolean,
    /** The image was proven to be the base: no destination can be done yet, so none is hashed. */
    private readonly fresh: boolean,
  ) {
    const blocks = Math.ceil(image.sizeBytes / bs);
    this.readMarks = blocks <= MAX_MARKED_BLOCKS ? new Uint32Array(blocks) : undefined;
  }

  /** Runs (or checks) every op in order. */
  async all(): Promise<void> {
    // Whatever an interrupted run left in the page cache is made durable before anything relies on it.
    if (this.write) await this.image.sync();
    for (const [i, op] of this.part.operations.entries()) await this.step(i, op);
    if (this.write) await this.image.sync();
  }

  private async step(i: number, op: Operation): Promise<void> {
    const where = `partition ${this.part.name} op ${i} (${op.type})`;
    if (op.type === 'stash') return this.stash(op);
    if (op.type === 'free') {
      if (this.write) {
        await this.flush(); // the ops that read the stash are on disk before the stash goes
        await this.store.remove(op.stashId);
      }
      this.stashes.delete(op.stashId);
      return;
    }
    const dstBytes = totalBlocks(op.dst) * this.bs;
    if (op.type === 'copy' && isIdentityCopy(op)) {
      // Unchanged blocks: proven by the base hash when fresh, else checked.
      if (!this.fresh && !sha256Of(await this.image.read(op.src)).equals(Buffer.from(op.srcSha256)))
        this.refuse(where, 'its unchanged blocks do not hash as the package says');
      this.counts.opsSkipped++;
      return;
    }
    const target = op.type === 'zero' ? zerosSha256(dstBytes) : op.type === 'copy' ? op.srcSha256 : op.dstSha256!;
    if (!this.fresh && sha256Of(await this.image.read(op.dst)).equals(Buffer.from(target))) {
      this.counts.opsSkipped++;
      return;
    }
    let source: Buffer | undefined;
    if (op.type === 'copy' || op.type === 'diff') {
      const found = await this.source(op.src, stashIdsOf(op));
      if (typeof found === 'number')
        this.refuse(
          where,
          `it is not done and needs stash ${found}, which ${this.store.pathOf(found)} does not hold (missing or damaged) and the image no longer does`,
        );
      source = found;
      if (!sha256Of(source).equals(Buffer.from(op.srcSha256)))
        this.refuse(where, 'it is not done and its source blocks do not hash as the package says');
    }
    this.counts.opsRun++;
    if (!this.write) return;
    let data: Buffer;
    if (op.type === 'zero') data = Buffer.alloc(dstBytes);
    else if (op.type === 'copy') data = source!;
    else if (op.type === 'replace')
      data = await decoderFor(op.codec).decode(
        await this.reader.readBlob(op.blob, where),
        dstBytes,
        op.decoderMemoryBytes,
      );
    else
      data = await patcherFor(op.differ).patch(
        source!,
        await this.reader.readBlob(op.blob, where),
        dstBytes,
        op.decoderMemoryBytes,
      );
    if (this.overwritesRead(op.dst)) await this.flush();
    await this.image.write(op.dst, data);
    this.dirty = true;
    if (op.type === 'copy' || op.type === 'diff') this.mark(op.src);
  }

  private async stash(op: StashOperation): Promise<void> {
    const sizeBytes = totalBlocks(op.src) * this.bs;
    if (await this.store.read(op.stashId, sizeBytes, op.srcSha256)) {
      this.stashes.set(op.stashId, { op, where: 'file' });
      return;
    }
    const data = await this.image.read(op.src);
    if (!sha256Of(data).equals(Buffer.from(op.srcSha256))) {
      // Its blocks were overwritten by an interrupted run: only ops already done may need it.
      this.stashes.set(op.stashId, { op, where: 'gone' });
      return;
    }
    if (this.write) await this.store.write(op.stashId, data);
    this.stashes.set(op.stashId, { op, where: this.write ? 'file' : 'image' });
  }

  /**
   * The source of an op: image blocks, with the blocks inside named stashes taken from them; or
   * the id of a named stash that neither its file nor the image holds.
   */
  private async source(src: readonly Extent[], stashIds: readonly number[]): Promise<Buffer | number> {
    const out = await this.image.read(src);
    // The first named stash holding a block wins: apply them last to first.
    for (const id of [...stashIds].reverse()) {
      const s = this.stashes.get(id);
      if (!s) return id;
      const sizeBytes = totalBlocks(s.op.src) * this.bs;
      const data =
        s.where === 'file'
          ? await this.store.read(id, sizeBytes, s.op.srcSha256)
          : s.where === 'image'
            ? await this.image.read(s.op.src)
            : undefined;
      if (!data) return id;
      overlay(out, src, data, s.op.src, this.bs);
    }
    return out;
  }

  private refuse(where: string, why: string): never {
    if (!this.write)
      throw new VerificationError(
        'WRONG_BASE',
        `image ${this.image.path} is neither the package's base nor a state an interrupted apply of it leaves: ${where}: ${why}; nothing was written (if an apply of this package was interrupted, give the --stash-dir it used: its stash files hold the blocks it overwrote)`,
      );
    throw new VerificationError('SOURCE_MISMATCH', `${where}: ${why} (the image changed during the apply?)`);
  }

  private overwritesRead(dst: readonly Extent[]): boolean {
    if (!this.readMarks) return true;
    for (const e of dst)
      for (let b = e.startBlock; b < e.startBlock + e.blockCount; b++)
        if (this.readMarks[b] === this.generation) return true;
    return false;
  }

  private mark(src: readonly Extent[]): void {
    if (!this.readMarks) return;
    for (const e of src)
      for (let b = e.startBlock; b < Math.min(this.readMarks.length, e.startBlock + e.blockCount); b++)
        this.readMarks[b] = this.generation;
  }

  private async flush(): Promise<void> {
    if (!this.dirty) return;
    await this.image.sync();
    this.dirty = false;
    this.generation++;
  }
}

/** Copies the blocks of `from` (laid out as `fromExtents`) over the same blocks of `into` (laid out as `intoExtents`). */
function overlay(
  into: Buffer,
  intoExtents: readonly Extent[],
  from: Buffer,
  fromExtents: readonly Extent[],
  bs: number,
) {
  let intoAt = 0;
  for (const x of intoExtents) {
    let fromAt = 0;
    for (const y of fromExtents) {
      const a = Math.max(x.startBlock, y.startBlock);
      const b = Math.min(x.startBlock + x.blockCount, y.startBlock + y.blockCount);
      if (a < b)
        from.copy(
          into,
          intoAt + (a - x.startBlock) * bs,
          fromAt + (a - y.startBlock) * bs,
          fromAt + (b - y.startBlock) * bs,
        );
      fromAt += y.blockCount * bs;
    }
    intoAt += x.blockCount * bs;
  }
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

/** sha256 of `sizeBytes` zero bytes, without allocating them. */
function zerosSha256(sizeBytes: number): Buffer {
  const h = createHash('sha256');
  for (let left = sizeBytes; left > 0; left -= ZERO_CHUNK.length)
    h.update(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  return h.digest();
}
