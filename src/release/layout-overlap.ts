// The one overlap rule every layout reader applies: two entries in the same area (Qualcomm LUN,
// MediaTek region) whose byte ranges [start, start + size) intersect make the layout invalid.
// Pure: no I/O; readers decide which entries take part (e.g. not expression-positioned ones).

import { ImageError } from '../errors/ota-error.js';

/** One positioned layout entry, in bytes. */
export interface PlacedEntry {
  /** Names the entry in messages, e.g. `rawprogram0.xml: boot_a`. */
  readonly entry: string;
  /** Entries overlap only within the same area (LUN, region). */
  readonly area: string;
  readonly startBytes: number;
  readonly sizeBytes: number;
}

/** Throws RELEASE_OVERLAP naming both entries of the first overlapping pair found. */
export function checkNoOverlap(entries: readonly PlacedEntry[]): void {
  const sorted = entries
    .filter((e) => e.sizeBytes > 0)
    .sort((a, b) => (a.area < b.area ? -1 : a.area > b.area ? 1 : a.startBytes - b.startBytes));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.area === cur.area && cur.startBytes < prev.startBytes + prev.sizeBytes) {
      throw new ImageError(
        'RELEASE_OVERLAP',
        `${cur.entry} (bytes ${cur.startBytes}..${cur.startBytes + cur.sizeBytes} of ${cur.area}) overlaps ${prev.entry} (bytes ${prev.startBytes}..${prev.startBytes + prev.sizeBytes})`,
      );
    }
  }
}
