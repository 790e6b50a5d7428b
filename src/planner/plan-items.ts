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
  /** In-place: stashes part of the source is read from (in-place-order.ts). */
  readonly stashIds?: readonly number[];
}

/** A chunk of changed blocks to encode; `sources` are old regions to diff against (may be empty). */
export interface ChangedItem {
  readonly kind: 'changed';
  readonly dst: Extent;
  readonly sources: readonly Extent[];
  /**
   * A/B: further runs the op writes after `dst`, in order, from the same blob: later copies of
   * this chunk's content, or the rest of a chunk whose copies went elsewhere (gather-twins.ts).
   */
  readonly extraDst?: readonly Extent[];
  /** In-place: stashes part of the sources are read from (in-place-order.ts). */
  readonly stashIds?: readonly number[];
  /**
   * A/B (format 1.6): blocks of the new image, written by earlier items, read after `sources` as
   * the rest of the chunk's source (target-sources.ts).
   */
  readonly targetSources?: readonly Extent[];
  /** True when the chunk was cut around runs a differ needs whole (zip members): never cut again. */
  readonly holdsWholeRuns?: boolean;
}

/**
 * Changed blocks of a full image (no old image) gathered from several runs because their content
 * is alike (gather-similar.ts): one chunk to REPLACE, its bytes the `dst` extents' in order.
 */
export interface GatheredItem {
  readonly kind: 'gathered';
  readonly dst: readonly Extent[];
}

/** In-place: save old blocks `src` as stash `stashId` before a later item overwrites them. */
export interface StashItem {
  readonly kind: 'stash';
  readonly stashId: number;
  readonly src: readonly Extent[];
}

/** In-place: drop stash `stashId` after its last reader. */
export interface FreeItem {
  readonly kind: 'free';
  readonly stashId: number;
}

/** One planned run, in destination order. */
export type PlanItem = ZeroItem | CopyItem | ChangedItem;

/**
 * What the encoder walks: the items in destination order (A/B; a full image's changed blocks
 * gathered by content), or in-place order with stash steps.
 */
export type PlanStep = PlanItem | GatheredItem | StashItem | FreeItem;
