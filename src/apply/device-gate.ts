// The device's refusals of a package, made from its metadata before any body byte is used or
// anything written: the device state file, the device's target and platform (mix-and-match), its
// rollback timestamp, and the limits of its profile. Shared by both appliers and by `verify`,
// which stands in for a device in CI.

import type { TargetProfile } from '../model/target-profile.js';
import type { Manifest } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import type { Reporter } from '../reporter.js';
import type { ApplyOptions } from './apply-options.js';
import { checkDeviceIdentity, checkNotDowngrade, readDeviceState, type DeviceState } from './device-checks.js';
import { checkDeviceLimits, deviceProfileFor } from './device-limits.js';

/** What the device says about itself (ApplyOptions' device fields). */
export type DeviceOptions = Pick<
  ApplyOptions,
  | 'deviceTarget'
  | 'deviceProfilePath'
  | 'deviceProfile'
  | 'devicePlatform'
  | 'deviceTimestampSeconds'
  | 'deviceStatePath'
  | 'allowDowngrade'
>;

/** The opened package's metadata the gate reads. */
export interface GatedPackage {
  readonly targetHeader: TargetHeader;
  readonly manifest: Manifest;
  readonly header: { readonly formatMinor: number };
}

/** The device as checked: its profile, and the identity and timestamp the package was held to. */
export interface CheckedDevice extends DeviceState {
  readonly profile: TargetProfile;
}

/**
 * Refuses the package when the device (options first, then its state file) is another target or
 * platform (WRONG_TARGET, WRONG_PLATFORM, exit 5), runs a newer build (DOWNGRADE, exit 5, unless
 * allowed) or cannot take some op (DEVICE_LIMIT_EXCEEDED, exit 7). A device profile names the
 * target when no target is given.
 */
export async function checkDevice(
  pkg: GatedPackage,
  options: DeviceOptions,
  reporter: Reporter,
): Promise<CheckedDevice> {
  const fromFile = options.deviceStatePath ? await readDeviceState(options.deviceStatePath) : {};
  const deviceTarget = options.deviceTarget ?? fromFile.target;
  const profile = await deviceProfileFor(pkg.targetHeader, {
    deviceProfilePath: options.deviceProfilePath,
    deviceProfile: options.deviceProfile,
    deviceTarget,
  });
  const named = options.deviceProfilePath !== undefined || options.deviceProfile !== undefined;
  const device: DeviceState = {
    target: deviceTarget ?? (named ? profile.id : undefined),
    platform: options.devicePlatform ?? fromFile.platform,
    timestampSeconds: options.deviceTimestampSeconds ?? fromFile.timestampSeconds,
  };
  checkDeviceIdentity(pkg.targetHeader, device, options.deviceTarget !== undefined);
  checkNotDowngrade(pkg.manifest, device, options.allowDowngrade ?? false, reporter);
  checkDeviceLimits(pkg.manifest, profile, pkg.header.formatMinor);
  return { ...device, profile };
}
