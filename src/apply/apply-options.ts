// The options of `applyPackage`, shared by the single-image and the release applier (kept apart
// from both so neither imports the other).

import type { TargetProfile } from '../model/target-profile.js';
import type { HttpSourceOptions } from '../transport/http-range-source.js';
import type { Reporter } from '../reporter.js';
import type { OutputFormat } from './output-image.js';

/** Options of `apply`. */
export interface ApplyOptions {
  readonly packagePath: string;
  /** Old image (or release, for release packages); required for delta packages. Opened read-only. */
  readonly oldPath?: string;
  /**
   * The new image: a regular file path (written beside and renamed) or a block device (written in
   * place); for a release package, the folder that receives `<partition>.img` files.
   */
  readonly outputPath: string;
  /** Pinned public keys: accepted when any of them signs (key rotation). */
  readonly pubkeyPath?: string | readonly string[];
  /** Refuse packages for any other target id (aliases accepted); a built-in id also sets the device's limits. */
  readonly deviceTarget?: string;
  /**
   * The device's own profile file (same schema as `build --target ./x.json`): its id is the device
   * target and its limits are enforced on every op (device-limits.ts).
   */
  readonly deviceProfilePath?: string;
  /** The device's profile as data (library callers, e.g. compare's applier timing); wins over the path. */
  readonly deviceProfile?: TargetProfile;
  /** Refuse packages for any other SoC/platform label. */
  readonly devicePlatform?: string;
  /** Refuse packages older than this (seconds); see also `deviceStatePath`. */
  readonly deviceTimestampSeconds?: number;
  /** JSON file `{"target","platform","timestampSeconds"}`; explicit options win over it. */
  readonly deviceStatePath?: string;
  readonly allowDowngrade?: boolean;
  /** Container of the output; default: the old image's (`sparse` for a sparse --old), else `raw`. */
  readonly outputFormat?: OutputFormat;
  /** Continue an interrupted apply from its checkpoint (raw file output only). */
  readonly resume?: boolean;
  /** Destination bytes between checkpoints (default 64 MiB). */
  readonly checkpointEveryBytes?: number;
  /**
   * Write a regular-file output the way a block device is written (in place, no truncation, no
   * rename), for tests on machines that cannot attach a loop device. The file must already exist.
   */
  readonly outputAsBlockDevice?: boolean;
  /** Limits of an http(s) package URL (retries, stall timeout, CA file, progress). */
  readonly http?: HttpSourceOptions;
  readonly reporter?: Reporter;
}
