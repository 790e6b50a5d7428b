// The reference applier (A/B style). Order matters for safety: metadata signature, target,
// base image hash and payload signature are all checked before the output is created; the
// old image is opened read-only; the output (raw or Android sparse) is written to a temp file
// beside the destination, hashed, and renamed into place only when its sha256 matches.

import { createHash } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { codecByName } from '../codecs/codec-registry.js';
import { differByName } from '../diff/differ-registry.js';
import { UsageError, VerificationError, UnsupportedError, ioError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import { totalBlocks } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { assertNever, type Operation } from '../model/operation.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { checkDeviceTarget } from './check-device-target.js';
import { readExtents } from './extent-io.js';
import { hashSource } from './hash-source.js';
import { createOutputImage, type OutputFormat, type OutputImage } from './output-image.js';

/** Options of `apply`. */
export interface ApplyOptions {
  readonly packagePath: string;
  /** Old image; required for delta packages, ignored by full packages. */
  readonly oldPath?: string;
  readonly outputPath: string;
  readonly pubkeyPath?: string;
  /** Refuse packages for any other target id (aliases accepted). */
  readonly deviceTarget?: string;
  /** Container of the output; default: the old image's (`sparse` for a sparse --old), else `raw`. */
  readonly outputFormat?: OutputFormat;
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
}

/** Applies a package; see the file comment for the guarantees. */
export async function applyPackage(options: ApplyOptions): Promise<ApplyResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const reader = await PackageReader.open(options.packagePath, { pubkeyPath: options.pubkeyPath, reporter });
  let old: BlockSource | undefined;
  try {
    checkDeviceTarget(reader.targetHeader, options.deviceTarget);
    if (reader.manifest.partitions.length !== 1) {
      throw new UnsupportedError('MULTI_PARTITION', `package holds ${reader.manifest.partitions.length} partitions; this applier writes one image`);
    }
    const part = reader.manifest.partitions[0]!;
    if (part.source) {
      if (!options.oldPath) throw new UsageError('OLD_REQUIRED', `${options.packagePath} is a delta package: pass the old image with --old`);
      if (resolve(options.oldPath) === resolve(options.outputPath)) throw new UsageError('OUTPUT_IS_OLD', 'the output must not be the old image (A/B apply never writes the source)');
      old = await openImage(options.oldPath);
      await checkBase(old, part, reader.manifest.blockSizeBytes);
    }
    await reader.verifyPayloadSignature();
    const outputFormat = options.outputFormat ?? (old?.format === 'sparse' ? 'sparse' : 'raw');
    const sha256 = await writeOutput(reader, part, old, options.outputPath, outputFormat);
    return { outputPath: options.outputPath, targetId: reader.targetHeader.targetId, partition: part.name, sizeBytes: part.target.sizeBytes, sha256, operationCount: part.operations.length, outputFormat };
  } finally {
    await old?.close();
    await reader.close();
  }
}

async function checkBase(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<void> {
  const expected = Buffer.from(part.source!.sha256).toString('hex');
  if (old.sizeBytes !== part.source!.sizeBytes) {
    throw new VerificationError('WRONG_BASE', `old image ${old.path} is ${old.sizeBytes} bytes; the package was built from a ${part.source!.sizeBytes}-byte image (sha256 ${expected.slice(0, 16)}…)`);
  }
  // DONT_CARE blocks of the source are undefined on the device: they count as zeros.
  const actual = (await hashSource(old, part.source!.dontCare, blockSizeBytes)).toString('hex');
  if (actual !== expected) {
    throw new VerificationError('WRONG_BASE', `old image ${old.path} has sha256 ${actual.slice(0, 16)}…, the package needs ${expected.slice(0, 16)}…`);
  }
}

async function writeOutput(reader: PackageReader, part: PartitionUpdate, old: BlockSource | undefined, outputPath: string, format: OutputFormat): Promise<string> {
  const bs = reader.manifest.blockSizeBytes;
  const tmp = join(dirname(outputPath), `.${basename(outputPath)}.ota-tmp-${process.pid}`);
  let out: OutputImage | undefined;
  try {
    out = await createOutputImage(format, tmp, part, bs);
    for (const [i, op] of part.operations.entries()) {
      const where = `partition ${part.name} op ${i} (${op.type})`;
      const data = await produce(reader, op, old, bs, where);
      if (data) await out.write(op.dst, data);
      else await out.zero(op.dst);
    }
    const actual = await out.finish();
    out = undefined;
    if (!actual.equals(Buffer.from(part.target.sha256))) {
      throw new VerificationError('OUTPUT_MISMATCH', `applied image has sha256 ${actual.toString('hex').slice(0, 16)}…, the package promises ${Buffer.from(part.target.sha256).toString('hex').slice(0, 16)}…; nothing was written to ${outputPath}`);
    }
    try {
      await rename(tmp, outputPath);
    } catch (err) {
      throw ioError('rename output to', outputPath, err);
    }
    return actual.toString('hex');
  } catch (err) {
    await out?.abort().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if ((err as { exitCode?: number }).exitCode) throw err;
    throw ioError('write output', tmp, err);
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

async function readSource(old: BlockSource, extents: Operation['dst'], sha256: Uint8Array, bs: number, where: string): Promise<Buffer> {
  const data = await readExtents(old, extents, bs);
  if (!createHash('sha256').update(data).digest().equals(Buffer.from(sha256))) {
    throw new VerificationError('SOURCE_MISMATCH', `${where}: old image blocks do not match the package's source hash`);
  }
  return data;
}

