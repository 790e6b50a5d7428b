// The reference applier (A/B style). Order matters for safety: the output path is looked at
// first (a node no image may replace — /dev/null, a FIFO — is refused before the package is
// opened), then metadata signature, target and platform, anti-rollback, base image size, payload
// signature and free space are all checked before anything is written; the base image hash before
// anything is written to a block device, and for a file output (written beside its name) on the
// second core while the partial is written, before any checkpoint and the rename; the old image
// is opened read-only. Resource limits come from the device's profile (device-limits.ts), never from the
// package alone: every op is checked against them before anything is written. One partition
// writer (apply-partition.ts) writes single images and releases alike. A package URL is
// streamed: only the metadata is fetched for those checks, then the blobs in op order as they
// are applied; the payload signature is checked before the output is renamed (or, for a
// release, before the staged images are moved into place).

import { UnsupportedError, UsageError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import { PackageReader } from '../package/package-reader.js';
import { HttpRangeSource } from '../transport/http-range-source.js';
import { openPackageSource } from '../transport/open-package-source.js';
import { CollectingReporter } from '../reporter.js';
import type { ApplyOptions } from './apply-options.js';
import { DEFAULT_CHECKPOINT_EVERY_BYTES, SCRATCH_BYTES, writePartition } from './apply-partition.js';
import { checkBase, startBaseCheck } from './base-check.js';
import type { ApplyResult } from './apply-result.js';
import { sameFile } from '../image/same-file.js';
import { displayName, isPackageUrl } from '../transport/byte-range-source.js';
import { needsRawStaging } from './staged-sparse-output.js';
import { defaultOutputFormat } from './output-image.js';
import { fileIdsOf } from './owned-file.js';
import { checkDevice } from './device-gate.js';
import { fileOutputPath, imageDestination, outputNode, type OutputDestination } from './output-destination.js';

/** Applies a package; see the file comment for the guarantees. */
export async function applyPackage(options: ApplyOptions): Promise<ApplyResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  // lstat/stat only: a FIFO or a device that is no block device is never opened.
  const node = await outputNode(options.outputPath);
  // A symbolic link to the output file stays a link: the file it names is replaced.
  const outputPath = node === 'file' ? await fileOutputPath(options.outputPath) : options.outputPath;
  const source = await openPackageSource(options.packagePath, options.http);
  const streamed = source instanceof HttpRangeSource ? source : undefined;
  const reader = await PackageReader.openSource(source, {
    pubkeyPath: options.pubkeyPath,
    reporter,
    metadataOnly: streamed !== undefined,
    // The body is streamed into the output: a server holding only the metadata prefix is refused now.
    bodyNeeded: true,
  });
  let old: BlockSource | undefined;
  let baseChecked: Promise<string> | undefined;
  try {
    if (reader.targetHeader.releaseLayout !== '' && node !== 'missing' && node !== 'folder')
      throw new UsageError(
        'OUTPUT_NOT_FOLDER',
        `${displayName(options.packagePath)} is a release package: -o must be a folder, and ${options.outputPath} is a ${node === 'file' ? 'regular file' : 'block device'}`,
      );
    await checkDevice(reader, options, reporter);
    // From here on, body bytes: one response streams the blobs in op order.
    if (streamed) streamed.streamAhead = true;
    if (reader.targetHeader.releaseLayout !== '') {
      // Loaded only for release packages: the release readers (XML layouts) cost a single-image
      // apply ~40 modules of start-up time.
      const { applyRelease } = await import('./apply-release.js');
      return await applyRelease(reader, options, reporter);
    }
    if (reader.manifest.partitions.length !== 1) {
      throw new UnsupportedError(
        'MULTI_PARTITION',
        `package holds ${reader.manifest.partitions.length} partitions but no release layout; this applier writes one image`,
      );
    }
    const part = reader.manifest.partitions[0]!;
    const destination: OutputDestination = options.outputAsBlockDevice
      ? { kind: 'block-device', path: options.outputPath }
      : imageDestination(outputPath, node);
    // Even a full package never replaces an old image the caller named.
    if (options.oldPath && (await sameFile(options.oldPath, options.outputPath)))
      throw new UsageError('OUTPUT_IS_OLD', 'the output must not be the old image (A/B apply never writes the source)');
    if (!isPackageUrl(options.packagePath) && (await sameFile(options.packagePath, options.outputPath)))
      throw new UsageError('OUTPUT_IS_INPUT', `the output ${options.outputPath} is the package being applied`);
    let oldSha256 = '';
    if (part.source) {
      if (!options.oldPath)
        throw new UsageError(
          'OLD_REQUIRED',
          `${displayName(options.packagePath)} is a delta package: pass the old image with --old`,
        );
      old = await openImage(options.oldPath);
      if (destination.kind === 'file') {
        // A file output is written beside its name and renamed only after every check: the old
        // image is hashed on the second core meanwhile (base-check.ts), no checkpoint is written
        // before it matched, and a wrong base is what the apply reports (catch below). A block
        // device is written in place: nothing is written to it before the check.
        baseChecked = startBaseCheck(old, part, reader.manifest.blockSizeBytes);
        baseChecked.catch(() => undefined); // reported through the awaits
        oldSha256 = Buffer.from(part.source.sha256).toString('hex');
      } else oldSha256 = await checkBase(old, part, reader.manifest.blockSizeBytes);
    } else if (options.oldPath) {
      // Not an error (the package needs nothing of it), but a path that may hold a typo.
      reporter.warn({
        code: 'OLD_NOT_USED',
        message: `${displayName(options.packagePath)} is a full package: --old ${options.oldPath} is not read`,
      });
    }
    // A streamed package's payload signature is checked as its body arrives, before the rename.
    if (!streamed) await reader.verifyPayloadSignature();
    const bs = reader.manifest.blockSizeBytes;
    // A device takes the raw image whatever the old image's container; only a file defaults to it,
    // when the image has a sparse form.
    const format =
      options.outputFormat ??
      (destination.kind === 'file'
        ? defaultOutputFormat(part.name, old?.format, part.target.sizeBytes, bs, reporter)
        : 'raw');
    const { name, ...applied } = await writePartition({
      reader,
      part,
      old,
      oldSha256,
      forbidden: await fileIdsOf(options.oldPath ? [options.oldPath] : []),
      destination,
      format,
      resume: options.resume ?? false,
      everyBytes: options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_EVERY_BYTES,
      baseChecked,
      // A sparse output of ops out of destination order, or of ops that read back what earlier ones
      // wrote, is written raw first, then converted beside it: room for both (the sparse image is
      // at most the raw one plus chunk headers).
      freeBytesNeeded:
        blockCountOf(part.target.sizeBytes, bs) *
          bs *
          (format === 'sparse' && needsRawStaging(part.operations) ? 2 : 1) +
        SCRATCH_BYTES,
      beforeRename: streamed ? () => reader.verifyPayloadSignature() : undefined,
      reporter,
    });
    // Named as the caller gave it (a symbolic link stays the name; the file it names was written).
    return {
      kind: 'image',
      targetId: reader.targetHeader.targetId,
      partition: name,
      ...applied,
      outputPath: destination.kind === 'file' ? options.outputPath : applied.outputPath,
    };
  } catch (err) {
    // Whatever failed once the base check had started, a wrong base is the reason to report.
    const baseError = await baseChecked?.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw baseError ?? err;
  } finally {
    await baseChecked?.catch(() => undefined); // the hash worker reads through old's descriptor
    await old?.close();
    await reader.close();
  }
}
