// `verify --old` on an in-place package: the in-place apply itself, run on a temp copy of the old
// image (expanded to raw, so a sparse --old works too) with a temp stash folder; the copy must end
// at the target sha256. Both temps are removed whatever happens; the old image is only read.

import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyInPlace } from '../apply/apply-in-place.js';
import type { DeviceOptions } from '../apply/device-gate.js';
import { VerificationError, ioError } from '../errors/ota-error.js';
import { openImage } from '../image/open-image.js';
import { writeFull } from '../image/write-full.js';
import type { Reporter } from '../reporter.js';

const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** What the simulation needs: the package, the old image, the keys and the device (checked as in-place apply checks it). */
export interface SimulateInPlaceOptions extends DeviceOptions {
  readonly packagePath: string;
  readonly oldPath: string;
  readonly pubkeyPath?: string | readonly string[];
  readonly reporter: Reporter;
}

/** Applies the in-place package to a temp copy of the old image; throws the apply's error. Disk: one image copy. */
export async function simulateInPlace(o: SimulateInPlaceOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ota-verify-in-place-'));
  try {
    const copy = join(dir, 'image.img');
    const old = await openImage(o.oldPath);
    try {
      const fh = await open(copy, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((err) => {
        throw ioError('create temp copy', copy, err);
      });
      try {
        for (let at = 0; at < old.sizeBytes; at += COPY_CHUNK_BYTES) {
          const data = await old.read(at, Math.min(COPY_CHUNK_BYTES, old.sizeBytes - at));
          await writeFull(fh, data, at, { action: 'write temp copy', path: copy });
        }
      } finally {
        await fh.close();
      }
    } finally {
      await old.close();
    }
    const r = await applyInPlace({
      packagePath: o.packagePath,
      inPlacePath: copy,
      stashDir: join(dir, 'stash'),
      pubkeyPath: o.pubkeyPath,
      deviceTarget: o.deviceTarget,
      deviceProfilePath: o.deviceProfilePath,
      deviceProfile: o.deviceProfile,
      devicePlatform: o.devicePlatform,
      deviceTimestampSeconds: o.deviceTimestampSeconds,
      deviceStatePath: o.deviceStatePath,
      allowDowngrade: o.allowDowngrade,
      reporter: o.reporter,
    });
    // A re-run converges from an interrupted state, but verify asks about the base itself.
    if (r.start !== 'base')
      throw new VerificationError(
        'WRONG_BASE',
        `old image ${o.oldPath} is not the package's base (it is ${r.start === 'done' ? 'already the target' : 'a partly updated image'})`,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
