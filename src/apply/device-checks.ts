// Refusals that depend on the device, all made before anything is written (exit 5 unless noted):
// another chipset target or platform (mix-and-match), an older package than the device runs
// (rollback), and too little free space at the destination (exit 8).

import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IoError, UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import type { Manifest } from '../model/manifest.js';
import type { Reporter } from '../reporter.js';
import type { TargetHeader } from '../model/target-header.js';
import { builtinTargetNamed, builtinTargets } from '../targets/target-registry.js';

/** What the device says about itself. Every field is optional: absent means "not checked". */
export interface DeviceState {
  /** Target id or alias the device is (e.g. `qualcomm`, `mtk`). */
  readonly target?: string;
  /** SoC/platform label the device is (e.g. `sm8550`). */
  readonly platform?: string;
  /** Timestamp (seconds) of the build the device runs now; older packages are refused. */
  readonly timestampSeconds?: number;
}

/** Largest device-state file accepted. */
const MAX_STATE_FILE_BYTES = 64 * 1024;

/** Reads a device-state JSON file (`{"target","platform","timestampSeconds"}`). */
export async function readDeviceState(path: string): Promise<DeviceState> {
  const buf = await readBoundedFile(path, {
    maxBytes: MAX_STATE_FILE_BYTES,
    action: 'read device state',
    notFile: () => new UsageError('BAD_DEVICE_STATE', `device state ${path} is not a regular file`),
    tooLarge: (sizeBytes) =>
      new UsageError('BAD_DEVICE_STATE', `device state ${path} is ${sizeBytes} bytes; at most ${MAX_STATE_FILE_BYTES}`),
  });
  const text = buf.toString('utf8');
  let json: unknown;
  try {
    // A byte-order mark (Windows editors write one) is no part of the JSON.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError('BAD_DEVICE_STATE', `device state ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o))
    throw new UsageError('BAD_DEVICE_STATE', `device state ${path} is not a JSON object`);
  for (const k of Object.keys(o))
    if (!['target', 'platform', 'timestampSeconds'].includes(k))
      throw new UsageError('BAD_DEVICE_STATE', `device state ${path}: unknown field ${JSON.stringify(k)}`);
  const str = (k: string) =>
    o[k] === undefined ? undefined : typeof o[k] === 'string' ? (o[k] as string) : badField(path, k, 'a string');
  const ts = o.timestampSeconds;
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0))
    badField(path, 'timestampSeconds', 'a non-negative integer');
  return { target: str('target'), platform: str('platform'), timestampSeconds: ts as number | undefined };
}

function badField(path: string, field: string, what: string): never {
  throw new UsageError('BAD_DEVICE_STATE', `device state ${path}: ${field} must be ${what}`);
}

/**
 * Refuses a package for another target or platform. `targetTyped`: the device's target id is the
 * one the user typed (--device-target), so an id that is no built-in one may be a typo and the
 * refusal lists the built-in ones (an id from a profile or state file is named as it is).
 */
export function checkDeviceIdentity(header: TargetHeader, device: DeviceState, targetTyped = false): void {
  if (device.target !== undefined) {
    const wanted = device.target.trim().toLowerCase();
    const builtin = builtinTargetNamed(wanted);
    const id = builtin?.id ?? wanted;
    if (id !== header.targetId) {
      // A custom id is allowed (a device of one's own profile), but typed, most often it is a typo.
      const custom =
        builtin || !targetTyped
          ? ''
          : ` (not a built-in target: ${builtinTargets()
              .map((t) => t.id)
              .join(', ')})`;
      throw new VerificationError(
        'WRONG_TARGET',
        `package is built for target ${header.targetId} (${header.vendor} ${header.platform}), this device is ${id}${custom}`,
      );
    }
  }
  if (device.platform !== undefined && device.platform.toLowerCase() !== header.platform.toLowerCase()) {
    throw new VerificationError(
      'WRONG_PLATFORM',
      `package is built for platform ${header.platform}, this device is ${device.platform}`,
    );
  }
}

/**
 * Refuses a package older than what the device runs (anti-rollback), unless allowed; an allowed
 * rollback is reported (DOWNGRADE_ALLOWED), so logs show it was one.
 */
export function checkNotDowngrade(
  manifest: Manifest,
  device: DeviceState,
  allowDowngrade: boolean,
  reporter: Reporter,
): void {
  const current = device.timestampSeconds;
  if (current === undefined || manifest.timestampSeconds >= current) return;
  if (allowDowngrade) {
    reporter.warn({
      code: 'DOWNGRADE_ALLOWED',
      message: `package timestamp ${manifest.timestampSeconds} is older than the device's ${current}: accepted as a rollback (--allow-downgrade)`,
    });
    return;
  }
  throw new VerificationError(
    'DOWNGRADE',
    `package timestamp ${manifest.timestampSeconds} is older than the device's ${current}: refusing a rollback (--allow-downgrade to force)`,
  );
}

/** Refuses to start when the destination file system has less free space than `neededBytes`. */
export async function checkFreeSpace(outputPath: string, neededBytes: number): Promise<void> {
  let freeBytes: number;
  try {
    const s = await statfs(dirname(outputPath));
    freeBytes = s.bavail * s.bsize;
  } catch (err) {
    throw ioError('check free space in', dirname(outputPath), err);
  }
  if (freeBytes < neededBytes) {
    throw new IoError(
      'NO_SPACE',
      `${dirname(outputPath)} has ${freeBytes} bytes free; applying needs ${neededBytes} (output and scratch)`,
    );
  }
}
