// The device-side check options `apply` (A/B and --in-place) and `verify` pass to the library:
// pinned keys, the device's target, profile, platform, rollback timestamp and state file.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors/ota-error.js';
import { builtinTargetNamed } from '../targets/target-registry.js';
import { MAX_TIMESTAMP_SECONDS, parseIntOption } from './parse-options.js';

/** The parsed CLI options the device checks read. */
export interface DeviceCheckCliOptions {
  pubkey?: string[];
  deviceTarget?: string;
  deviceProfile?: string;
  devicePlatform?: string;
  deviceTimestamp?: number;
  deviceState?: string;
  allowDowngrade?: boolean;
}

/**
 * Maps the CLI's device-check options onto the applier's option names. A profile file given as
 * `--device-target` (a path), or a built-in target's name as `--device-profile` where no such
 * file exists, is refused (BAD_OPTION) naming the other option.
 */
export function deviceCheckOptions(o: DeviceCheckCliOptions) {
  if (o.deviceTarget !== undefined && (o.deviceTarget.includes('/') || o.deviceTarget.endsWith('.json')))
    throw new UsageError(
      'BAD_OPTION',
      `--device-target takes a target id (qualcomm, mtk, …); for a profile file use --device-profile ${o.deviceTarget}`,
    );
  const profile = o.deviceProfile;
  if (profile !== undefined && !existsSync(profile) && builtinTargetNamed(profile) !== undefined)
    throw new UsageError(
      'BAD_OPTION',
      `--device-profile takes a profile file and there is no file ${profile}; for the built-in target use --device-target ${profile}`,
    );
  return {
    pubkeyPath: o.pubkey,
    deviceTarget: o.deviceTarget,
    deviceProfilePath: o.deviceProfile,
    devicePlatform: o.devicePlatform,
    deviceTimestampSeconds: o.deviceTimestamp,
    deviceStatePath: o.deviceState,
    allowDowngrade: o.allowDowngrade,
  };
}

/**
 * Declares the options that describe the device (as `apply` and `verify` take them): its target,
 * profile, platform, build timestamp and state file.
 */
export function withDeviceOptions(command: Command): Command {
  return command
    .option(
      '--device-target <id>',
      'refuse packages built for any other target (exit 5); a built-in id sets the limits',
    )
    .option('--device-profile <json>', "the device's profile file: its id and limits (op size, decoder memory…) apply")
    .option('--device-platform <soc>', 'refuse packages built for any other SoC/platform (exit 5)')
    .option(
      '--device-timestamp <seconds>',
      'timestamp of the build the device runs: older packages are refused (exit 5)',
      parseIntOption('--device-timestamp', 0, MAX_TIMESTAMP_SECONDS),
    )
    .option(
      '--device-state <json>',
      'file with {"target","platform","timestampSeconds"} of the device (options above win)',
    )
    .option('--allow-downgrade', 'accept a package older than the device timestamp (warns DOWNGRADE_ALLOWED)');
}
