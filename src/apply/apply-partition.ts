// Applies one partition update to its output: checks the old image against the source identity,
// then writes every step (the package's ops, or for an unchanged partition a verified copy of
// the old image) into a partial file (checkpointing raw outputs) renamed into place only when the
// output's sha256 matches, or in place into a block device that is then read back and checked.
// The one partition writer, shared by single-image and release applies. A file destination is
// locked (output-lock.ts) for the whole run, so side files are only ever touched by their owner,
// and the rename is checked to have moved the very inode that was hashed.

import { createHash } from 'node:crypto';
import { lstat, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IoError, UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { totalBlocks } from '../model/extent.js';
import { isUnchanged, type PartitionUpdate } from '../model/manifest.js';
import { blobOf } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';
import type { Reporter } from '../reporter.js';
import type { AppliedPartition } from './apply-result.js';
import { applySteps, type ApplyStep } from './apply-steps.js';
import { targetReadWriters } from '../model/target-reads.js';
import { OpScratches, produceStep } from './produce-step.js';
import { CHAIN_START, chainStep, checkpointSchedule, removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { checkFreeSpace } from './device-checks.js';
import { BlockDeviceOutput } from './device-output.js';
import type { OutputDestination } from './output-destination.js';
import { createOutputImage } from './create-output-image.js';
import { hasSparseForm, type OutputFormat, type OutputImage } from './output-image.js';
import { needsRawStaging, StagedSparseOutput } from './staged-sparse-output.js';
import { lockOutput } from './output-lock.js';
import { openOwnedFile, type FileId } from './owned-file.js';
import { resumePoint, type ResumeState } from './resume-point.js';
import { newPartialName, removeStaleSideFiles, sideFilesOf, type SideFiles } from './side-files.js';

/** Destination bytes between checkpoints unless the caller says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * Blob bytes between checkpoints of a streamed apply (besides `everyBytes`): what a power loss
 * can cost in download at most, on top of the blob in flight (FORMAT.md §6a).
 */
export const STREAM_CHECKPOINT_BLOB_BYTES = 256 * 1024;
/** Scratch space beyond the outputs: checkpoint files and one op's temp files. */
export const SCRATCH_BYTES = 8 * 1024 * 1024;

/** What writePartition needs. */
export interface PartitionJob {
  readonly reader: PackageReader;
  readonly part: PartitionUpdate;
  /** The old image, opened and checked (or being checked: `baseChecked`) by base-check.ts (undefined for a full partition). */
  readonly old: BlockSource | undefined;
  readonly oldSha256: string;
  /** Files the output and its side files must never be (the old images, by inode). */
  readonly forbidden: readonly FileId[];
  readonly destination: OutputDestination;
  readonly format: OutputFormat;
  readonly resume: boolean;
  /** Destination bytes between checkpoints (file destinations only). */
  readonly everyBytes: number;
  /** Free space a file destination's folder must have before a fresh start (none checked when absent). */
  readonly freeBytesNeeded?: number;
  /**
   * The base check when it runs while the output is written (file destinations only): awaited
   * before any checkpoint is written and before the output is checked and renamed.
   */
  readonly baseChecked?: Promise<unknown>;
  /** Runs after the output verified and before it is renamed (a streamed package's payload signature). */
  readonly beforeRename?: () => Promise<void>;
  readonly reporter: Reporter;
}

/**
 * The one partition writer of the applier. A file destination is written into a fresh partial
 * file beside it (checkpointed when raw, so `resume` can continue) and renamed into place only when
 * its sha256 matches; a block device is written in place and read back. Returns what was written.
 */
export async function writePartition(j: PartitionJob): Promise<AppliedPartition> {
  const bs = j.reader.manifest.blockSizeBytes;
  if (j.format === 'sparse' && !hasSparseForm(j.part.target.sizeBytes, bs))
    throw new UsageError(
      'OUTPUT_FORMAT_SIZE',
      `partition ${j.part.name}: the new image is ${j.part.target.sizeBytes} bytes, not a whole number of ${bs}-byte blocks, so it has no sparse form; use --output-format raw (nothing was written)`,
    );
  const files = j.destination.kind === 'file' ? sideFilesOf(j.destination.path) : undefined;
  const lock = files ? await lockOutput(files.lockPath, j.destination.path) : undefined;
  try {
    return await writeLocked(j, files);
  } finally {
    await lock?.release();
  }
}

async function writeLocked(j: PartitionJob, files: SideFiles | undefined): Promise<AppliedPartition> {
  const bs = j.reader.manifest.blockSizeBytes;
  const steps = applySteps(j.part, bs);
  const { path } = j.destination;
  let state: ResumeState = { completedOps: 0, bytesWritten: 0, chain: CHAIN_START };
  if (files) {
    state = await resumePoint({
      resume: j.resume,
      format: j.format,
      files,
      part: j.part,
      steps,
      bs,
      packageDigest: j.reader.metadataSha256.toString('hex'),
      oldSha256: j.oldSha256,
      forbidden: j.forbidden,
      reporter: j.reporter,
    });
  } else if (j.resume) {
    j.reporter.warn({
      code: 'RESUME_RESTART',
      message: `cannot resume (block device ${path} is written without checkpoints): starting from the first operation`,
    });
  }
  const partialName = state.resumed?.partialName ?? (files ? newPartialName(files) : '');
  const partialPath = files ? join(files.folder, partialName) : path;
  if (files) await removeStaleSideFiles(files, partialName);
  if (files && state.completedOps === 0 && j.freeBytesNeeded !== undefined)
    await checkFreeSpace(path, j.freeBytesNeeded);
  let out: OutputImage | undefined = state.resumed?.output;
  let { chain, bytesWritten } = state;
  // Two ops are in flight: while op i is hashed and written, op i+1's blob and source are read and
  // decoded (the thread pool's work overlaps the main thread's). Each has its own reused source
  // and patch-output buffers, alternating by op index: an op's buffers are written out before the
  // op two ahead reads into them. The patchers' other buffers (working copies, decoded blocks)
  // come from one arena the two share: op i+1 starts only once op i's bytes are made.
  const scratches = new OpScratches();
  // For each op that reads back target blocks (1.6), the last op that writes one of them.
  const waitsFor = targetReadWriters(j.part.operations).lastWriter;
  // A streamed resume continues the payload hash from the checkpoint, at the blob it stopped before
  // (else the reader reads the skipped blobs again, only to hash them).
  const streamed = j.reader.bodyStreamed;
  if (streamed && state.completedOps > 0 && state.payloadHash) {
    const at = blobCursor(j.part, state.completedOps);
    // Bound to this package (the checkpoint's digest was matched) and to the completed-op count.
    if (at !== undefined && state.payloadHash.atBytes === j.reader.layout.blobs.offsetBytes + at)
      j.reader.restorePayloadHash(state.payloadHash);
  }
  // Where checkpoints go is fixed by the manifest (destination and blob sizes): the chain (the
  // hash of every op's written bytes) is computed only as far as the last one.
  const checkpoints =
    files && j.format === 'raw'
      ? checkpointSchedule(
          steps,
          state.completedOps,
          bs,
          j.everyBytes,
          streamed ? STREAM_CHECKPOINT_BLOB_BYTES : Infinity,
        )
      : new Set<number>();
  let chainOps = 0;
  for (const after of checkpoints) chainOps = Math.max(chainOps, after);
  // The base check hashes the whole old image (before a checkpoint, the output check and the
  // rename), and the output's sha256 is checked before the rename: for a file, re-hashing each
  // op's source would only stop a bad apply earlier. A block device, written in place after the
  // base check, still stops at the first source that changed since.
  const checkSources = !files;
  let ahead: Promise<Buffer | undefined> | undefined;
  try {
    // A sparse output of ops out of destination order (gathered full-image ops), or of ops that read
    // blocks written before (1.6), is staged raw first.
    const staged = files && j.format === 'sparse' && needsRawStaging(j.part.operations);
    out ??= !files
      ? await openDevice(j, bs)
      : staged
        ? await StagedSparseOutput.create(partialPath, j.part, bs)
        : await createOutputImage(j.format, partialPath, j.part, bs);
    const output = out;
    const written = output.readBackInto ? output.readBackInto.bind(output) : undefined;
    const start = (i: number): Promise<Buffer | undefined> => {
      const where = `partition ${j.part.name} op ${i} (${steps[i]!.type})`;
      // What an op reads back is always checked (§6 step 6): a wrong read-back stops it there.
      const check = checkSources || readsTarget(steps[i]!);
      const produced = produceStep(j.reader, steps[i]!, j.old, bs, where, scratches.forStep(i), check, written);
      produced.catch(() => undefined); // reported when awaited, in op order
      return produced;
    };
    for (let i = state.completedOps; i < steps.length; i++) {
      const op = steps[i]!;
      const data = await (ahead ?? start(i));
      // Not across a checkpoint: it records the payload hash at the blob of the next op to do; and
      // not an op that reads back blocks this op writes: they are not written yet (those of the
      // ops before it are).
      ahead = i + 1 < steps.length && !checkpoints.has(i + 1) && (waitsFor[i + 1] ?? -1) < i ? start(i + 1) : undefined;
      if (data) await out.write(op.dst, data);
      else await out.zero(op.dst);
      const dstBytes = totalBlocks(op.dst) * bs;
      if (i < chainOps) {
        // A copy's bytes are its source, whose sha256 the package declares: a partial whose copied
        // bytes differ from it fails the resume's re-verification and restarts (resume-point.ts).
        const written = op.type === 'copy' ? Buffer.from(op.srcSha256) : data ? sha256Of(data) : zerosSha256(dstBytes);
        chain = chainStep(chain, written);
      }
      bytesWritten += dstBytes;
      if (files && checkpoints.has(i + 1)) {
        // Data first, then the checkpoint that names it: a checkpoint never claims unwritten bytes;
        // and only once the old image is known to be the package's base.
        await j.baseChecked;
        await out.sync();
        await writeCheckpoint(files.checkpointPath, {
          packageDigest: j.reader.metadataSha256.toString('hex'),
          oldSha256: j.oldSha256,
          partialName,
          completedOps: i + 1,
          bytesWritten,
          chain,
          payloadHash: j.reader.savePayloadHash(),
        });
      }
    }
    await j.baseChecked;
    const { sha256: actual, fileId } = await out.finish();
    out = undefined;
    const expected = Buffer.from(j.part.target.sha256);
    if (!actual.equals(expected)) {
      const fate = files ? `nothing was written to ${path}` : `block device ${path} holds an unverified image`;
      throw new VerificationError(
        'OUTPUT_MISMATCH',
        `applied image has sha256 ${actual.toString('hex').slice(0, 16)}…, the package promises ${expected.toString('hex').slice(0, 16)}…; ${fate}`,
      );
    }
    await j.beforeRename?.();
    if (files) {
      // An output replacing a file keeps that file's read and write permissions (a private image
      // stays private).
      const replaced = await stat(path).catch(() => undefined);
      if (replaced?.isFile() && fileId) await setModeOf(partialPath, fileId, replaced.mode & 0o777);
      await rename(partialPath, path).catch((err) => {
        throw ioError('rename output to', path, err);
      });
      // The name now holds the inode hashed above, or something replaced it in between.
      const placed = await lstat(path).catch(() => undefined);
      if (!fileId || !placed || placed.dev !== fileId.dev || placed.ino !== fileId.ino)
        throw new IoError(
          'OUTPUT_BUSY',
          `${path} was replaced by another process while it was being renamed into place`,
        );
      await removeCheckpoint(files.checkpointPath);
    }
    return {
      name: j.part.name,
      outputPath: path,
      status: isUnchanged(j.part) ? 'unchanged' : j.part.source ? 'delta' : 'full',
      sizeBytes: j.part.target.sizeBytes,
      sha256: actual.toString('hex'),
      operationCount: j.part.operations.length,
      outputFormat: j.format,
      outputKind: j.destination.kind,
      resumedFromOp: state.completedOps,
    };
  } catch (err) {
    // The op read ahead is let finish first (it still reads through the old image and the package),
    // unless it waits for a download: closing the package then ends that read, and a failed write
    // is not held up by a stalled server (its result is dropped either way).
    if (!j.reader.bodyStreamed) await ahead?.catch(() => undefined);
    // A failure (not an interruption) is final: nothing partial is kept to resume from.
    await out?.abort();
    if (files) {
      await unlink(partialPath).catch(() => undefined);
      await removeCheckpoint(files.checkpointPath);
    }
    // Only file-system failures become I/O errors; anything else is a bug and must say so.
    if ((err as NodeJS.ErrnoException).code && !(err as { exitCode?: number }).exitCode)
      throw ioError('write output', partialPath, err);
    throw err;
  }
}

/** True for a DIFF op that reads blocks of the image being written (1.6). */
function readsTarget(step: ApplyStep): boolean {
  return step.type === 'diff' && (step.targetSrc?.length ?? 0) > 0;
}

/** Opens a block-device destination; only raw images go onto a device. */
async function openDevice(j: PartitionJob, bs: number): Promise<OutputImage> {
  if (j.format !== 'raw')
    throw new UsageError(
      'OUTPUT_FORMAT_DEVICE',
      `${j.destination.path} is a block device: it takes the raw image, not --output-format ${j.format}`,
    );
  return BlockDeviceOutput.open(j.destination.path, j.part, bs);
}

/**
 * Where the blob stream stands once `doneOps` ops are done (an offset in the blob section): the
 * first blob of the ops still to do, else the end of the last one done; undefined without blobs.
 */
function blobCursor(part: PartitionUpdate, doneOps: number): number | undefined {
  for (const op of part.operations.slice(doneOps)) {
    const blob = blobOf(op);
    if (blob) return blob.offsetBytes;
  }
  for (const op of part.operations.slice(0, doneOps).reverse()) {
    const blob = blobOf(op);
    if (blob) return blob.offsetBytes + blob.sizeBytes;
  }
  return undefined;
}

function sha256Of(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

let lastZeros: { sizeBytes: number; sha256: Buffer } | undefined;

/** sha256 of `sizeBytes` zero bytes, without allocating them (the last size's is kept: runs of equal ZERO ops). */
function zerosSha256(sizeBytes: number): Buffer {
  if (lastZeros?.sizeBytes === sizeBytes) return lastZeros.sha256;
  const h = createHash('sha256');
  for (let left = sizeBytes; left > 0; left -= ZERO_CHUNK.length)
    h.update(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  lastZeros = { sizeBytes, sha256: h.digest() };
  return lastZeros.sha256;
}

/**
 * Gives the partial output at `partialPath` the permission bits `mode`, through a handle opened
 * as every reopened side file is (openOwnedFile: no link followed, a regular file of ours) and
 * only when it is still the file hashed (`fileId`): nothing put at that name since gets them
 * (the rename's inode check then reports it).
 */
async function setModeOf(partialPath: string, fileId: { dev: number; ino: number }, mode: number): Promise<void> {
  const opened = await openOwnedFile(partialPath, 'read');
  if ('problem' in opened) return;
  try {
    if (opened.st.dev === fileId.dev && opened.st.ino === fileId.ino) await opened.fh.chmod(mode);
  } catch (err) {
    throw ioError('set the permissions of', partialPath, err);
  } finally {
    await opened.fh.close().catch(() => undefined);
  }
}
