// releaseJobs: turns an old and a new firmware release into one PartitionJob per selected
// partition (opened, checked against its layout size, hashed and planned only when its turn
// comes) and records what each partition became for the build report.

import { ImageError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { withProgressDetail, type Reporter, type Warning } from '../reporter.js';
import {
  groupPartitions,
  partitionLayouts,
  selectPartitions,
  type PartitionSelection,
  type UpdatePartition,
} from '../release/release-partitions.js';
import type { ReleaseSource } from '../release/release-source.js';
import { isPartitionName } from '../model/partition-name.js';
import type { PartitionLayout } from '../model/target-header.js';
import type { PartitionSummary } from './build-options.js';
import { PreparedImages, type PlanOptions } from './prepared-images.js';
import type { PartitionJob } from './produce-packages.js';

/** The selected partitions of a release build, paired with the old release's. */
export interface ReleaseSelection {
  readonly old: ReleaseSource | undefined;
  readonly next: ReleaseSource;
  readonly selected: readonly UpdatePartition[];
  readonly oldByName: ReadonlyMap<string, UpdatePartition>;
  /** The target headers' partition layouts. */
  readonly layouts: PartitionLayout[];
}

/** The jobs and the summaries they fill in as they run. */
export interface ReleaseJobs {
  readonly jobs: PartitionJob[];
  readonly summaries: PartitionSummary[];
}

/** Selects the new release's partitions (warning about what is left out) and pairs each with the old release's of the same name. */
export function selectRelease(o: {
  old: ReleaseSource | undefined;
  next: ReleaseSource;
  selection: PartitionSelection;
  reporter: Reporter;
}): ReleaseSelection {
  const all = groupPartitions(o.next);
  const oldByName = new Map(o.old ? groupPartitions(o.old).map((p) => [p.name, p]) : []);
  // Partitions with an image in the old release and none in the new: left alone. --exclude may
  // name them (and so acknowledge it).
  const names = new Set(all.map((p) => p.name));
  const gone = [...oldByName.keys()].filter((n) => !names.has(n) && oldByName.get(n)!.image);
  // The selection's warnings are given after the errors below, as the others are.
  const held: Warning[] = [];
  const selected = selectPartitions(all, o.selection, { warn: (w) => held.push(w) }, gone);
  // Errors before warnings: a file the layout names but the release lacks (or that is no image)
  // stops the build only for a partition it updates.
  for (const p of selected) {
    const missing = p.image?.unavailable ?? oldByName.get(p.name)?.image?.unavailable;
    if (missing) throw missing;
    if (!isPartitionName(p.name))
      throw new ImageError(
        'RELEASE_BAD_NAME',
        `${o.next.path}: partition name ${JSON.stringify(p.name)} is not 1-64 of A-Z a-z 0-9 _ . -`,
      );
  }
  for (const w of held) o.reporter.warn(w);
  // Not with --partitions: the update is scoped to the partitions it names, and leaves every
  // other alone, a removed one too.
  const excluded = new Set(o.selection.exclude ?? []);
  const unsaid = gone.filter((n) => !excluded.has(n));
  if (unsaid.length > 0 && !(o.selection.include && o.selection.include.length > 0))
    o.reporter.warn({
      code: 'PARTITIONS_REMOVED',
      message: `partitions of the old release missing from the new one are left alone: ${unsaid.join(', ')}; --exclude ${unsaid.join(',')} says this is meant`,
    });
  return { old: o.old, next: o.next, selected, oldByName, layouts: partitionLayouts(selected) };
}

/** One job per selected partition, prepared lazily (one partition's images open at a time). */
export function releaseJobs(o: ReleaseSelection & { plan: PlanOptions; reporter: Reporter }): ReleaseJobs {
  const summaries: PartitionSummary[] = [];
  const jobs = o.selected.map((p, i): PartitionJob => {
    const oldPart = o.oldByName.get(p.name);
    const reporter = withProgressDetail(o.reporter, `partition ${p.name} (${i + 1}/${o.selected.length})`);
    const fromOld = o.old !== undefined && oldPart?.image !== undefined;
    if (o.old && !fromOld)
      o.reporter.warn({
        code: 'PARTITION_NEW',
        message: `partition ${p.name} has no image in the old release: the package carries it in full`,
      });
    return {
      name: p.name,
      keepUnchanged: true,
      reporter,
      async prepare() {
        const next = await openChecked(p, o.next);
        let old: BlockSource | undefined;
        try {
          old = fromOld ? await oldPart!.image!.open() : undefined;
          return await PreparedImages.fromSources(next, old, { ...o.plan, reporter });
        } catch (err) {
          await old?.close();
          await next.close();
          throw err;
        }
      },
      async release(prepared, unchanged) {
        if (unchanged !== undefined) {
          const source = prepared.summary('source');
          summaries.push({
            name: p.name,
            status: unchanged ? 'unchanged' : source ? 'changed' : o.old ? 'new' : 'full',
            ...(source ? { source } : {}),
            target: prepared.summary('target')!,
          });
        }
        await prepared.old?.close();
        await prepared.next.close();
      },
    };
  });
  return { jobs, summaries };
}

/** Opens a new partition image and checks it fits the space its layout reserves. */
async function openChecked(p: UpdatePartition, release: ReleaseSource): Promise<BlockSource> {
  const image = await p.image!.open();
  const room = Math.min(...p.slots.map((s) => s.layoutSizeBytes ?? Infinity));
  if (image.sizeBytes > room) {
    await image.close();
    throw new ImageError(
      'RELEASE_TOO_BIG',
      `${release.path}: partition ${p.name} image ${p.image!.fileName} is ${image.sizeBytes} bytes, over the ${room} bytes its layout reserves`,
    );
  }
  return image;
}
