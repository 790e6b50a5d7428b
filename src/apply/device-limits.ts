// Resource limits come from the DEVICE, never from the package alone: the profile named by
// --device-profile (a file) or --device-target (a built-in), else the built-in profile of the
// package's own target id, else the built-in `generic` profile. Every op is checked against it
// before anything is written (DEVICE_LIMIT_EXCEEDED, exit 7).

import { UnsupportedError } from '../errors/ota-error.js';
import { totalBlocks } from '../model/extent.js';
import type { Manifest } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import { readsFormatMinor, type TargetProfile } from '../model/target-profile.js';
import { builtinTargetNamed, loadTargetFile } from '../targets/target-registry.js';
import { proveInPlace } from '../format/in-place-proof.js';

/** Where the device's limits come from. */
export interface DeviceProfileSource {
  /** A profile file (same schema as `build --target ./x.json`): the device's own limits. */
  readonly deviceProfilePath?: string;
  /** The device's profile as data; wins over `deviceProfilePath`. */
  readonly deviceProfile?: TargetProfile;
  /** Target id or alias of the device; a built-in id gives that profile's limits. */
  readonly deviceTarget?: string;
}

/** Profile id whose limits apply when nothing else names a built-in profile (the most permissive built-in). */
export const FALLBACK_DEVICE_PROFILE_ID = 'generic';

/**
 * The profile whose limits this device enforces: the --device-profile file; else the built-in
 * profile named by --device-target; else the built-in profile of the package's target id; else
 * (a custom target id and no profile file) the built-in `generic` profile. The package's own
 * target-header numbers are never used.
 */
export async function deviceProfileFor(header: TargetHeader, source: DeviceProfileSource): Promise<TargetProfile> {
  if (source.deviceProfile !== undefined) return source.deviceProfile;
  if (source.deviceProfilePath !== undefined) return await loadTargetFile(source.deviceProfilePath);
  const named = source.deviceTarget !== undefined ? builtinTargetNamed(source.deviceTarget) : undefined;
  return named ?? builtinTargetNamed(header.targetId) ?? builtinTargetNamed(FALLBACK_DEVICE_PROFILE_ID)!;
}

/**
 * Checks the package against the device profile before anything is written: its format minor
 * (`formatMinor`, from the header) ≤ maxFormatMinor, then every op: op type allowed, destination
 * size ≤ maxOperationBytes, declared decoder memory ≤ decoderMemoryLimitBytes, codec and differ
 * allowed. Throws UnsupportedError `DEVICE_LIMIT_EXCEEDED` (exit 7).
 */
export function checkDeviceLimits(manifest: Manifest, profile: TargetProfile, formatMinor = 0): void {
  const bs = manifest.blockSizeBytes;
  const refuse = (where: string, detail: string): never => {
    throw new UnsupportedError('DEVICE_LIMIT_EXCEEDED', `${where}: ${detail} (device profile ${profile.id})`);
  };
  if (!readsFormatMinor(profile, formatMinor))
    refuse('package', `format 1.${formatMinor} is newer than the 1.${profile.maxFormatMinor} the device reads`);
  for (const part of manifest.partitions) {
    for (const [i, op] of part.operations.entries()) {
      const where = `partition ${part.name} op ${i} (${op.type})`;
      if (op.type === 'stash' || op.type === 'free') continue; // bounded by maxStashBytes (checkStashLimit)
      if (!profile.allowedOperations.includes(op.type)) refuse(where, `op type ${op.type} is not allowed`);
      const dstBytes = totalBlocks(op.dst) * bs;
      if (dstBytes > profile.maxOperationBytes)
        refuse(where, `writes ${dstBytes} bytes, over the device's ${profile.maxOperationBytes}-byte op limit`);
      if (op.type !== 'replace' && op.type !== 'diff') continue;
      if (op.decoderMemoryBytes > profile.decoderMemoryLimitBytes)
        refuse(
          where,
          `declares ${op.decoderMemoryBytes} bytes of decoder memory, over the device's ${profile.decoderMemoryLimitBytes}`,
        );
      if (op.type === 'replace' && !profile.allowedCodecs.includes(op.codec))
        refuse(where, `codec ${op.codec} is not allowed`);
      if (op.type === 'diff' && !profile.allowedDiffers.includes(op.differ))
        refuse(where, `differ ${op.differ} is not allowed`);
    }
  }
}

/**
 * The stash peak of an in-place package's partitions (proved at open against the package's own
 * limit), checked against the device's: over it, UnsupportedError `DEVICE_LIMIT_EXCEEDED` (exit
 * 7). Returns the largest peak.
 */
export function checkStashLimit(manifest: Manifest, header: TargetHeader, profile: TargetProfile): number {
  let largestBytes = 0;
  for (const part of manifest.partitions) {
    const { peakStashBytes } = proveInPlace(part, manifest.blockSizeBytes, header.maxStashBytes ?? 0);
    if (peakStashBytes > profile.maxStashBytes)
      throw new UnsupportedError(
        'DEVICE_LIMIT_EXCEEDED',
        `partition ${part.name}: the stash peaks at ${peakStashBytes} bytes, over the device's ${profile.maxStashBytes} (device profile ${profile.id})`,
      );
    largestBytes = Math.max(largestBytes, peakStashBytes);
  }
  return largestBytes;
}
