// PlanItem: what the planner decides for each run of destination blocks, before any encoding.

import type { Extent } from '../model/extent.js';

/** A run of all-zero destination blocks. */
export interface ZeroItem {
  readonly kind: 'zero';
  readonly dst: Extent;
}

/** A run of destination blocks identical to a run of old blocks (anywhere in the old image). */
export interface CopyItem {
  readonly kind: 'copy';
  readonly dst: Extent;
  readonly src: Extent;
}

/** A chunk of changed blocks to encode; `sources` are old regions to diff against (may be empty). */
export interface ChangedItem {
  readonly kind: 'changed';
  readonly dst: Extent;
  readonly sources: readonly Extent[];
}

/** One planned run, in destination order. */
export type PlanItem = ZeroItem | CopyItem | ChangedItem;
