// The reference applier (A/B style). Order matters for safety: metadata signature, target and
// platform, anti-rollback, base image hash, payload signature and free space are all checked
// before anything is written; the old image is opened read-only; the output (raw or Android
// sparse) goes to a partial file beside the destination and is renamed into place only when
// its sha256 matches. Raw outputs keep a checkpoint so `resume` continues after an interruption.

import { createHash } from 'node:crypto';
import { realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { codecByName } from '../codecs/codec-registry.js';
import { differByName } from '../diff/differ-registry.js';
import { UnsupportedError, UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { assertNever, type Operation } from '../model/operation.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { resumePoint, type ResumeState } from './resume-point.js';
import { chainStep, removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { checkDeviceIdentity, checkFreeSpace, checkNotDowngrade, readDeviceState, type DeviceState } from './device-checks.js';
import { readExtents } from '../image/extent-io.js';
import { hashSource } from './hash-source.js';
import { createOutputImage, type OutputFormat, type OutputImage } from './output-image.js';

/** Options of `apply`. */
export interface ApplyOptions {
  readonly packagePath: string;
  /** Old image; required for delta packages, ignored by full packages. Opened read-only. */
  readonly oldPath?: string;
  readonly outputPath: string;
  readonly pubkeyPath?: string;
  /** Refuse packages for any other target id (aliases accepted). */
  readonly deviceTarget?: string;
  /** Refuse packages for any other SoC/platform label. */
  readonly devicePlatform?: string;
  /** Refuse packages older than this (seconds); see also `deviceStatePath`. */
  readonly deviceTimestampSeconds?: number;
  /** JSON file `{"target","platform","timestampSeconds"}`; explicit options win over it. */
  readonly deviceStatePath?: string;
  readonly allowDowngrade?: boolean;
  /** Container of the output; default: the old image's (`sparse` for a sparse --old), else `raw`. */
  readonly outputFormat?: OutputFormat;
  /** Continue an interrupted apply from its checkpoint (raw output only). */
  readonly resume?: boolean;
  /** Destination bytes between checkpoints (default 64 MiB). */
  readonly checkpointEveryBytes?: number;
  readonly reporter?: Reporter;
}

/** What `apply` produced. */
export interface ApplyResult {
  readonly outputPath: string;
  readonly targetId: string;
  readonly partition: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly operationCount: number;
  readonly outputFormat: OutputFormat;
  /** Operations skipped because a verified checkpoint covered them. */
  readonly resumedFromOp: number;
}

const DEFAULT_CHECKPOINT_EVERY_BYTES = 64 * 1024 * 1024;
/** Scratch space beyond the output: checkpoint files and one op's temp files. */
const SCRATCH_BYTES = 8 * 1024 * 1024;

/** Applies a package; see the file comment for the guarantees. */
export async function applyPackage(options: ApplyOptions): Promise<ApplyResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const reader = await PackageReader.open(options.packagePath, { pubkeyPath: options.pubkeyPath, reporter });
  let old: BlockSource | undefined;
  try {
    const fromFile = options.deviceStatePath ? await readDeviceState(options.deviceStatePath) : {};
    const device: DeviceState = {
      target: options.deviceTarget ?? fromFile.target,
      platform: options.devicePlatform ?? fromFile.platform,
      timestampSeconds: options.deviceTimestampSeconds ?? fromFile.timestampSeconds,
    };
    checkDeviceIdentity(reader.targetHeader, device);
    checkNotDowngrade(reader.manifest, device, options.allowDowngrade ?? false);
    if (reader.manifest.partitions.length !== 1) {
      throw new UnsupportedError('MULTI_PARTITION', `package holds ${reader.manifest.partitions.length} partitions; this applier writes one image`);
    }
    const part = reader.manifest.partitions[0]!;
    let oldSha256 = '';
    if (part.source) {
      if (!options.oldPath) throw new UsageError('OLD_REQUIRED', `${options.packagePath} is a delta package: pass the old image with --old`);
      if (await sameFile(options.oldPath, options.outputPath)) throw new UsageError('OUTPUT_IS_OLD', 'the output must not be the old image (A/B apply never writes the source)');
      old = await openImage(options.oldPath);
      oldSha256 = await checkBase(old, part, reader.manifest.blockSizeBytes);
    }
    await reader.verifyPayloadSignature();
    const format = options.outputFormat ?? (old?.format === 'sparse' ? 'sparse' : 'raw');
    const bs = reader.manifest.blockSizeBytes;
    const partialPath = join(dirname(options.outputPath), `.${basename(options.outputPath)}.ota-partial`);
    const checkpointPath = join(dirname(options.outputPath), `.${basename(options.outputPath)}.ota-checkpoint`);
    const state = await resumePoint({ resume: options.resume ?? false, format, partialPath, checkpointPath, part, bs, packageDigest: reader.metadataSha256.toString('hex'), oldSha256, reporter });
    if (state.completedOps === 0) await checkFreeSpace(options.outputPath, blockCountOf(part.target.sizeBytes, bs) * bs + SCRATCH_BYTES);
    const sha256 = await writeOutput({ reader, part, old, outputPath: options.outputPath, partialPath, checkpointPath, format, state, oldSha256, everyBytes: options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_EVERY_BYTES });
    return { outputPath: options.outputPath, targetId: reader.targetHeader.targetId, partition: part.name, sizeBytes: part.target.sizeBytes, sha256, operationCount: part.operations.length, outputFormat: format, resumedFromOp: state.completedOps };
  } finally {
    await old?.close();
    await reader.close();
  }
}

/** Checks the old image against the package's source identity; returns its sha256 (hex). */
async function checkBase(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  const expected = Buffer.from(part.source!.sha256).toString('hex');
  if (old.sizeBytes !== part.source!.sizeBytes) {
    throw new VerificationError('WRONG_BASE', `old image ${old.path} is ${old.sizeBytes} bytes; the package was built from a ${part.source!.sizeBytes}-byte image (sha256 ${expected.slice(0, 16)}…)`);
  }
  // DONT_CARE blocks of the source are undefined on the device: they count as zeros.
  const actual = (await hashSource(old, part.source!.dontCare, blockSizeBytes)).toString('hex');
  if (actual !== expected) {
    throw new VerificationError('WRONG_BASE', `old image ${old.path} has sha256 ${actual.slice(0, 16)}…, the package needs ${expected.slice(0, 16)}…`);
  }
  return actual;
}

interface WriteJob {
  readonly reader: PackageReader;
  readonly part: PartitionUpdate;
  readonly old: BlockSource | undefined;
  readonly outputPath: string;
  readonly partialPath: string;
  readonly checkpointPath: string;
  readonly format: OutputFormat;
  readonly state: ResumeState;
  readonly oldSha256: string;
  readonly everyBytes: number;
}

async function writeOutput(j: WriteJob): Promise<string> {
  const bs = j.reader.manifest.blockSizeBytes;
  let out: OutputImage | undefined = j.state.output;
  let { chain, bytesWritten } = j.state;
  let sinceCheckpoint = 0;
  try {
    out ??= await createOutputImage(j.format, j.partialPath, j.part, bs);
    for (let i = j.state.completedOps; i < j.part.operations.length; i++) {
      const op = j.part.operations[i]!;
      const where = `partition ${j.part.name} op ${i} (${op.type})`;
      const data = await produce(j.reader, op, j.old, bs, where);
      if (data) await out.write(op.dst, data);
      else await out.zero(op.dst);
      const dstBytes = totalBlocks(op.dst) * bs;
      chain = chainStep(chain, data ? sha256Of(data) : zerosSha256(dstBytes));
      bytesWritten += dstBytes;
      sinceCheckpoint += dstBytes;
      if (j.format === 'raw' && sinceCheckpoint >= j.everyBytes && i + 1 < j.part.operations.length) {
        // Data first, then the checkpoint that names it: a checkpoint never claims unwritten bytes.
        await out.sync();
        await writeCheckpoint(j.checkpointPath, { packageDigest: j.reader.metadataSha256.toString('hex'), oldSha256: j.oldSha256, completedOps: i + 1, bytesWritten, chain });
        sinceCheckpoint = 0;
      }
    }
    const actual = await out.finish();
    out = undefined;
    if (!actual.equals(Buffer.from(j.part.target.sha256))) {
      throw new VerificationError('OUTPUT_MISMATCH', `applied image has sha256 ${actual.toString('hex').slice(0, 16)}…, the package promises ${Buffer.from(j.part.target.sha256).toString('hex').slice(0, 16)}…; nothing was written to ${j.outputPath}`);
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
    if ((err as NodeJS.ErrnoException).code && !(err as { exitCode?: number }).exitCode) throw ioError('write output', j.partialPath, err);
    throw err;
  }
}

async function produce(reader: PackageReader, op: Operation, old: BlockSource | undefined, bs: number, where: string): Promise<Buffer | undefined> {
  const dstBytes = totalBlocks(op.dst) * bs;
  switch (op.type) {
    case 'zero':
      return undefined;
    case 'copy':
      return readSource(old!, op.src, op.srcSha256, bs, where);
    case 'replace':
      return codecByName(op.codec).decode(await reader.readBlob(op.blob, where), dstBytes);
    case 'diff': {
      const src = await readSource(old!, op.src, op.srcSha256, bs, where);
      return differByName(op.differ).patch(src, await reader.readBlob(op.blob, where), dstBytes);
    }
    default:
      return assertNever(op);
  }
}

async function readSource(old: BlockSource, extents: readonly Extent[], sha256: Uint8Array, bs: number, where: string): Promise<Buffer> {
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
  for (let left = sizeBytes; left > 0; left -= ZERO_CHUNK.length) h.update(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  return h.digest();
}

/** True when writing `outputPath` would replace `oldPath` (symlinks and hard links followed). */
async function sameFile(oldPath: string, outputPath: string): Promise<boolean> {
  const oldReal = await realpath(oldPath).catch(() => resolve(oldPath));
  const outDirReal = await realpath(dirname(outputPath)).catch(() => resolve(dirname(outputPath)));
  if (oldReal === join(outDirReal, basename(outputPath))) return true;
  const [a, b] = await Promise.all([stat(oldPath).catch(() => undefined), stat(outputPath).catch(() => undefined)]);
  return Boolean(a && b && a.dev === b.dev && a.ino === b.ino);
}
