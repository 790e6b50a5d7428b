// The device-side check options both apply paths (A/B and --in-place) pass to the applier: pinned
// keys, the device's target, profile, platform, rollback timestamp and state file.

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

/** Maps the CLI's device-check options onto the applier's option names. */
export function deviceCheckOptions(o: DeviceCheckCliOptions) {
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
