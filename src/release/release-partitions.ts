// Which partitions of a release an update carries: groups A/B slot entries (`boot_a` + `boot_b`
// → `boot`), leaves out entries without an image, those the layout marks as not upgradable and
// device-data partitions such as userdata (unless named), applies --partitions / --exclude, and turns the result into the target
// header's partition layouts. Pure: no file access.

import { ImageError, UsageError } from '../errors/ota-error.js';
import type { PartitionLayout } from '../model/target-header.js';
import type { Reporter } from '../reporter.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';

/** One partition as the manifest names it, with the layout entries that place it. */
export interface UpdatePartition {
  /** Manifest name: the layout name without its slot suffix. */
  readonly name: string;
  /** The entry whose image is the partition's content (slot `_a` when both have one). */
  readonly image: ReleasePartition | undefined;
  /** Every entry that places it: one, or one per slot. */
  readonly slots: readonly ReleasePartition[];
}

const SLOT = /^(.+)(_a|_b)$/;

/**
 * Partitions that hold the device's own data (user data, calibration, keys, per-device
 * settings), whatever the layout says: an update never overwrites them unless named.
 */
const DEVICE_DATA =
  /^(userdata|cache|metadata|persist|persistent|misc|frp|modemst[12]|fsg|fsc|ssd|keystore|devinfo|rpmb|nvram|nvdata|nvcfg|protect[12]?|proinfo|prodnv|otp|seccfg)$/i;

/** Why a partition is left out by default, or undefined when an update carries it. */
export function defaultExclusionReason(p: UpdatePartition): string | undefined {
  if (DEVICE_DATA.test(p.name)) return 'device data an update never overwrites';
  if (!p.image!.upgradable) return p.image!.notUpgradableReason ?? 'not upgradable';
  return undefined;
}

/** Groups a release's entries into partitions, in layout order of their first entry. */
export function groupPartitions(release: ReleaseSource): UpdatePartition[] {
  const names = new Set(release.partitions.map((p) => p.name));
  const groups = new Map<string, ReleasePartition[]>();
  for (const entry of release.partitions) {
    const m = SLOT.exec(entry.name);
    // Only a complete pair is a slot pair: a lone `foo_a` keeps its name.
    const name = m && names.has(`${m[1]}_a`) && names.has(`${m[1]}_b`) ? m[1]! : entry.name;
    groups.set(name, [...(groups.get(name) ?? []), entry]);
  }
  return [...groups].map(([name, slots]) => {
    const withFiles = slots.filter((s) => s.fileName !== undefined);
    // Both slots get the same content; a release that gives them different files is ambiguous.
    if (new Set(withFiles.map((s) => s.fileName)).size > 1) {
      throw new ImageError(
        'RELEASE_SLOT_MISMATCH',
        `${release.path}: ${withFiles.map((s) => `${s.name} names ${s.fileName}`).join(' but ')}; the slots of one partition must hold the same image (keep only the one to install)`,
      );
    }
    return { name, slots, image: withFiles[0] };
  });
}

/** What to update: `include` names exactly which; `exclude` removes from the default set. */
export interface PartitionSelection {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

/**
 * The partitions of the new release to put in the package. By default every partition with an
 * image whose layout entry is upgradable; the others are left out with one warning. Unknown
 * names in `include`/`exclude` are usage errors (exit 2); `exclude` may also name `removed`
 * ones (the old release's, gone from the new: nothing to select, but named on purpose).
 */
export function selectPartitions(
  all: readonly UpdatePartition[],
  selection: PartitionSelection,
  reporter: Pick<Reporter, 'warn'>,
  removed: readonly string[] = [],
): UpdatePartition[] {
  const byName = new Map(all.map((p) => [p.name, p]));
  const known = () => all.map((p) => p.name).join(', ');
  const excludable = new Set(removed);
  const named = [...(selection.include ?? []), ...(selection.exclude ?? []).filter((n) => !excludable.has(n))];
  for (const name of named) {
    if (!byName.has(name))
      throw new UsageError(
        'UNKNOWN_PARTITION',
        `the new release has no partition ${JSON.stringify(name)}; it has ${known()}`,
      );
  }
  if (selection.include && selection.include.length > 0) {
    const wanted = new Set(selection.include);
    const chosen = all.filter((p) => wanted.has(p.name));
    for (const p of chosen) {
      if (!p.image)
        throw new UsageError(
          'PARTITION_WITHOUT_IMAGE',
          `partition ${p.name} has no image in the new release, so it cannot be updated`,
        );
    }
    const kept = chosen.filter((p) => !(selection.exclude ?? []).includes(p.name));
    if (kept.length === 0)
      throw new UsageError(
        'NO_PARTITIONS',
        'no partition is left to update: --exclude removes every partition --partitions names',
      );
    return kept;
  }
  const excluded = new Set(selection.exclude ?? []);
  const skipped: string[] = [];
  const chosen: UpdatePartition[] = [];
  for (const p of all) {
    if (!p.image || excluded.has(p.name)) continue;
    const reason = defaultExclusionReason(p);
    if (reason) {
      skipped.push(`${p.name} (${reason})`);
      continue;
    }
    chosen.push(p);
  }
  if (skipped.length > 0) {
    reporter.warn({
      code: 'PARTITIONS_LEFT_OUT',
      message: `left out partitions an update must not touch: ${skipped.join(', ')}; name them with --partitions to include them`,
    });
  }
  if (chosen.length === 0)
    throw new UsageError(
      'NO_PARTITIONS',
      `no partition of the new release is selected for the update${skipped.length > 0 ? ` (left out: ${skipped.join(', ')}; name them with --partitions to include them)` : ''}`,
    );
  return chosen;
}

/** The target header's partition layouts of the selected partitions (one per slot entry). */
export function partitionLayouts(selected: readonly UpdatePartition[]): PartitionLayout[] {
  const layouts: PartitionLayout[] = [];
  for (const p of selected) {
    for (const entry of p.slots) {
      const slot = p.slots.length > 1 ? (SLOT.exec(entry.name)?.[2] ?? '') : '';
      const pl = entry.placement;
      layouts.push({
        name: p.name,
        slotSuffix: slot,
        layoutSizeBytes: entry.layoutSizeBytes ?? 0,
        fileName: entry.fileName ?? '',
        lun: pl.kind === 'qualcomm' ? pl.lun : 0,
        startSector: pl.kind === 'qualcomm' ? (pl.startSector ?? 0) : 0,
        sectorSizeBytes: pl.kind === 'qualcomm' ? pl.sectorSizeBytes : 0,
        region: pl.kind === 'mediatek' ? pl.region : '',
        addressBytes: pl.kind === 'mediatek' || pl.kind === 'unisoc' ? pl.addressBytes : 0,
        partitionId: pl.kind === 'unisoc' ? pl.partitionId : '',
      });
    }
  }
  return layouts;
}
