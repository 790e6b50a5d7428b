// The resumable-apply checkpoint: a small JSON file beside the output saying how many ops are
// done and a hash chain over the bytes they wrote, so `apply --resume` can re-verify the partial
// output before relying on it. Written atomically: temp file (random name, O_EXCL: never through
// a planted symlink), fsync, rename over the checkpoint (rename replaces a link, never follows it),
// fsync of the folder. Read back with O_NOFOLLOW, checked with fstat (owned-file.ts) and capped in
// size before a byte is read.

import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ioError } from '../errors/ota-error.js';
import { MAX_SAVED_STATE_CHARS } from '../hashing/running-sha256.js';
import { readUpTo } from '../image/read-full.js';
import type { SavedPayloadHash } from '../package/package-reader.js';
import { openOwnedFile } from './owned-file.js';

/** Checkpoint format version. */
const CHECKPOINT_VERSION = 2;
/** A checkpoint file larger than this is corrupt. */
const MAX_CHECKPOINT_BYTES = 4096;
/** Code of the (never thrown) refusals below, which become a restart reason. */

/** Progress of one apply, as persisted. */
export interface Checkpoint {
  /** sha256 of the package's signed metadata: the checkpoint belongs to exactly this package. */
  readonly packageDigest: string;
  /** sha256 of the old image the apply started from (empty for a full package). */
  readonly oldSha256: string;
  /** File name (in the output's folder) of the partial image this checkpoint describes. */
  readonly partialName: string;
  /** Operations completed, in manifest order. */
  readonly completedOps: number;
  /** Destination bytes those operations wrote. */
  readonly bytesWritten: number;
  /** Hash chain over the completed operations' destination bytes (see `chainStep`). */
  readonly chain: string;
  /**
   * A streamed apply only: the payload signature's running sha256 after the completed ops' blobs
   * (saved with them in the same write), so a resume continues the download where they end.
   */
  readonly payloadHash?: SavedPayloadHash;
}

/** The chain before any op. */
export const CHAIN_START = '0'.repeat(64);

/** Extends the chain with one op's destination bytes: sha256(chain ‖ sha256(bytes)). */
export function chainStep(chain: string, dstSha256: Buffer): string {
  return createHash('sha256').update(Buffer.from(chain, 'hex')).update(dstSha256).digest('hex');
}

/**
 * After which ops of `steps` (from `startOp` on) an apply writes a checkpoint, as completed-op
 * counts in increasing order: after the op that brings the destination bytes since the last one
 * to `everyBytes`, or their blob bytes to `everyBlobBytes`, unless it is the last op. Known before
 * the first write, so the checkpoint chain is computed only as far as the last one needs.
 */
export function checkpointSchedule(
  steps: readonly { readonly dst: readonly { readonly blockCount: number }[]; readonly blob?: { sizeBytes: number } }[],
  startOp: number,
  blockSizeBytes: number,
  everyBytes: number,
  everyBlobBytes: number,
): Set<number> {
  const after = new Set<number>();
  let bytes = 0;
  let blobBytes = 0;
  for (let i = startOp; i + 1 < steps.length; i++) {
    const step = steps[i]!;
    for (const e of step.dst) bytes += e.blockCount * blockSizeBytes;
    blobBytes += step.blob?.sizeBytes ?? 0;
    if (bytes >= everyBytes || blobBytes >= everyBlobBytes) {
      after.add(i + 1);
      bytes = 0;
      blobBytes = 0;
    }
  }
  return after;
}

/** Writes `cp` to `path` atomically. */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ version: CHECKPOINT_VERSION, ...cp }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dir = await open(dirname(path), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError('write checkpoint', path, err);
  }
}

/** Reads a checkpoint: the checkpoint, `missing`, or why it cannot be used. */
export async function readCheckpoint(path: string): Promise<Checkpoint | { problem: string }> {
  const opened = await openOwnedFile(path, 'read');
  if ('problem' in opened)
    return {
      problem: opened.problem === 'it is missing' ? 'no checkpoint' : `the checkpoint is not ours: ${opened.problem}`,
    };
  let buf: Buffer;
  try {
    if (opened.st.size > MAX_CHECKPOINT_BYTES) return { problem: 'checkpoint is too large' };
    buf = Buffer.alloc(MAX_CHECKPOINT_BYTES + 1);
    const length = await readUpTo(opened.fh, buf, 0, { action: 'read checkpoint', path });
    if (length > MAX_CHECKPOINT_BYTES) return { problem: 'checkpoint is too large' };
    buf = buf.subarray(0, length);
  } catch {
    return { problem: 'the checkpoint cannot be read' };
  } finally {
    await opened.fh.close();
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(buf.toString('utf8'));
  } catch {
    return { problem: 'checkpoint is not valid JSON' };
  }
  const hex64 = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const savedHash = (v: unknown) => {
    const h = v as Record<string, unknown> | null;
    return (
      typeof h === 'object' &&
      h !== null &&
      typeof h.state === 'string' &&
      h.state.length <= MAX_SAVED_STATE_CHARS &&
      count(h.atBytes)
    );
  };
  if (
    o?.version !== CHECKPOINT_VERSION ||
    !hex64(o.packageDigest) ||
    !(o.oldSha256 === '' || hex64(o.oldSha256)) ||
    typeof o.partialName !== 'string' ||
    !count(o.completedOps) ||
    !count(o.bytesWritten) ||
    !hex64(o.chain) ||
    !(o.payloadHash === undefined || savedHash(o.payloadHash))
  ) {
    return { problem: 'checkpoint fields are malformed' };
  }
  return o as unknown as Checkpoint;
}

/** Removes a checkpoint (a temp file is removed by the write that made it, or is left by a kill). */
export async function removeCheckpoint(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
