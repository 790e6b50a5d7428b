// verifyPackage: what CI runs. Structure and metadata signature (by opening), payload signature,
// every blob hash, REPLACE blobs trial-decoded, the device target and profile limits, and with an
// old image a full trial apply into a temp folder.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPackage } from '../apply/apply-package.js';
import { checkDevice, type DeviceOptions } from '../apply/device-gate.js';
import { checkStashLimit } from '../apply/device-limits.js';
import { simulateInPlace } from './simulate-in-place.js';
import { PackageReader } from '../package/package-reader.js';
import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { checkPackageBody } from './check-package-body.js';
import { UsageError } from '../errors/ota-error.js';
import { displayName } from '../transport/byte-range-source.js';

/**
 * Options of `verify`. The device fields (DeviceOptions: target, profile, platform, timestamp,
 * state file) are checked as `apply` checks them, so CI sees a device's refusal.
 */
export interface VerifyOptions extends DeviceOptions {
  readonly packagePath: string;
  readonly pubkeyPath?: string | readonly string[];
  /** When given, also prove the package applies to this image and yields its target sha256. */
  readonly oldPath?: string;
  /**
   * Check only the metadata prefix (header, lengths up to the metadata end, metadata signature,
   * manifest invariants); the file may hold just that prefix, and a URL is asked for nothing else.
   */
  readonly metadataOnly?: boolean;
  /** Limits of an http(s) package URL. */
  readonly http?: HttpSourceOptions;
  readonly reporter?: Reporter;
}

/**
 * One check that passed: a stable `id` for machines, `text` for people, and the count or size it
 * covered where it has one.
 */
export interface VerifyCheck {
  readonly id: VerifyCheckId;
  readonly text: string;
  /** blob-hashes, blobs-decode: blobs checked; trial-apply of a release: partitions reproduced. */
  readonly count?: number;
  /** device-limits of an in-place package: its stash peak. */
  readonly stashPeakBytes?: number;
}

/** The checks verify runs, in the order it runs them (README "verify"). */
export type VerifyCheckId =
  | 'structure'
  | 'metadata-signature'
  | 'manifest'
  | 'device-target'
  | 'device-platform'
  | 'device-timestamp'
  | 'device-limits'
  | 'payload-signature'
  | 'blob-hashes'
  | 'blobs-decode'
  | 'trial-apply';

/** What was checked. Any failure throws instead. */
export interface VerifyReport {
  readonly package: string;
  readonly target: string;
  readonly signatureAlgorithm: string;
  readonly keyId: string;
  readonly checks: readonly VerifyCheck[];
}

/** Verifies a package; throws the typed error of the first failed check. */
export async function verifyPackage(options: VerifyOptions): Promise<VerifyReport> {
  const reporter = options.reporter ?? new CollectingReporter();
  // --old proves the package applies to an image: that needs the blobs --metadata-only skips.
  if (options.metadataOnly && options.oldPath !== undefined)
    throw new UsageError(
      'BAD_OPTION',
      '--old applies the package to prove it fits the image, which needs the whole package: leave out --metadata-only or --old',
    );
  const checks: VerifyCheck[] = [];
  const passed = (id: VerifyCheckId, text: string, extra: Partial<VerifyCheck> = {}) =>
    checks.push({ id, text, ...extra });
  const reader = await PackageReader.openAt(
    options.packagePath,
    { pubkeyPath: options.pubkeyPath, reporter, metadataOnly: options.metadataOnly ?? false },
    options.http,
  );
  const header = reader.targetHeader;
  try {
    passed('structure', 'header and section lengths');
    passed('metadata-signature', 'metadata signature');
    passed('manifest', 'target header and manifest invariants');
    const device = await checkDevice(reader, options, reporter);
    if (device.target !== undefined) passed('device-target', `device target ${header.targetId}`);
    if (device.platform !== undefined) passed('device-platform', `device platform ${header.platform}`);
    if (device.timestampSeconds !== undefined)
      passed(
        'device-timestamp',
        reader.manifest.timestampSeconds >= device.timestampSeconds
          ? `not older than the device's build (timestamp ${device.timestampSeconds})`
          : `older than the device's build (timestamp ${device.timestampSeconds}): allowed (--allow-downgrade)`,
      );
    const profile = device.profile;
    // An in-place package is verified as the device applies it: in place, its stash within the device's limit.
    const stashPeakBytes =
      header.updateMode === 'in-place' ? checkStashLimit(reader.manifest, header, profile) : undefined;
    const stash = stashPeakBytes === undefined ? '' : ` and its ${stashPeakBytes}-byte stash peak`;
    passed(
      'device-limits',
      `every op${stash} within the ${profile.id} device profile's limits`,
      stashPeakBytes === undefined ? {} : { stashPeakBytes },
    );
    if (!options.metadataOnly) {
      // Over a network the blobs come first, in order: they feed the payload hash (one download).
      const body = await checkPackageBody(reader, { blobsFirst: reader.source.refetchable });
      passed('payload-signature', 'payload signature');
      passed('blob-hashes', `every blob matches its hash (${body.blobCount})`, { count: body.blobCount });
      if (body.decodedCount > 0)
        passed('blobs-decode', `every replace and sourceless diff blob decodes (${body.decodedCount})`, {
          count: body.decodedCount,
        });
    }
  } finally {
    await reader.close();
  }
  if (options.oldPath && !options.metadataOnly && header.updateMode === 'in-place') {
    await simulateInPlace({ ...options, oldPath: options.oldPath, reporter });
    passed('trial-apply', 'applied in place to a temp copy of the old image: reproduces the target sha256');
  } else if (options.oldPath && !options.metadataOnly) {
    const dir = await mkdtemp(join(tmpdir(), 'ota-verify-'));
    try {
      const release = header.releaseLayout !== '';
      const applied = await applyPackage({
        packagePath: options.packagePath,
        oldPath: options.oldPath,
        outputPath: join(dir, release ? 'new' : 'new.img'),
        pubkeyPath: options.pubkeyPath,
        http: options.http,
        // The trial output's container does not matter: raw, whatever --old is (raw or sparse).
        outputFormat: 'raw',
        deviceTarget: options.deviceTarget,
        deviceProfilePath: options.deviceProfilePath,
        deviceProfile: options.deviceProfile,
        devicePlatform: options.devicePlatform,
        deviceTimestampSeconds: options.deviceTimestampSeconds,
        deviceStatePath: options.deviceStatePath,
        allowDowngrade: options.allowDowngrade,
        reporter,
      });
      // A full package reads no old image (OLD_NOT_USED): the check says so rather than claim it.
      const statuses =
        applied.kind === 'release'
          ? applied.partitions.map((p) => p.status)
          : applied.kind === 'image'
            ? [applied.status]
            : [];
      const old = applied.kind === 'release' ? 'release' : 'image';
      const applies =
        statuses.length > 0 && statuses.every((s) => s === 'full')
          ? `applies without the old ${old} (a full package reads none)`
          : `applies to the old ${old}`;
      if (applied.kind === 'release')
        passed(
          'trial-apply',
          `${applies} and reproduces the target sha256 of all ${applied.partitions.length} partitions`,
          {
            count: applied.partitions.length,
          },
        );
      else passed('trial-apply', `${applies} and reproduces the target sha256`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    package: displayName(options.packagePath),
    target: header.targetId,
    signatureAlgorithm: header.signatureAlgorithm,
    keyId: Buffer.from(reader.metadataSignature.keyId).toString('hex'),
    checks,
  };
}
