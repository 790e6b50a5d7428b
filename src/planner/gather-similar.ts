// Gathers a full image's changed blocks into REPLACE chunks by content: segments whose samples
// overlap (the same code in two builds of a library, a file's copies in two folders) join one
// chunk even when far apart, so one compressor context holds them; a chunk is one content class.
// Pure: segments and sketches in, plan items out. Memory: the sample postings (4 bytes per sample).

import type { SegmentSketch } from '../hashing/content-sketch.js';
import type { Extent } from '../model/extent.js';
import { mergeExtents } from '../extents/extent-list.js';
import type { GatheredItem, PlanStep, ZeroItem } from './plan-items.js';

/** A planned segment of changed blocks and its sketch. */
export interface SketchedSegment {
  readonly dst: Extent;
  readonly sketch: SegmentSketch;
}

/** Postings longer than this (samples found in many segments) say nothing about which belong together. */
const MAX_POSTING_SEGMENTS = 32;
/** Least shared share of samples (of the smaller segment) for two segments to be gathered. */
const MIN_SIMILARITY = 0.02;
/** Weight of being neighbours in the image: contiguous content stays together unless alike content pulls it away. */
const NEIGHBOUR_BONUS = 0.05;

/**
 * The items of a full plan with its changed items replaced by gathered chunks of at most
 * `maxRunBlocks`, where a dense (compressed) segment's blocks count maxRunBlocks / maxDenseBlocks
 * times, so a chunk of dense content stays within `maxDenseBlocks` (default: no difference):
 * size-capped agglomerative clustering (edges by shared samples, strongest first; neighbours get
 * a bonus), clusters packed in image order into chunks of one class. Each chunk's extents are in
 * ascending order. Zero items are kept as they are.
 */
export function gatherSimilar(
  zeroItems: readonly ZeroItem[],
  segments: readonly SketchedSegment[],
  maxRunBlocks: number,
  maxDenseBlocks = maxRunBlocks,
): PlanStep[] {
  const n = segments.length;
  // Code and the rest are kept apart (an x86 chunk may get a branch filter); text and other
  // binary mix, since a chunk of both (JS with its UTF-8 data) compressed smaller together.
  const cls = segments.map((s) => (s.sketch.contentClass === 'x86' ? 'x86' : 'data'));
  const postings = new Map<number, number[]>();
  segments.forEach((s, k) => {
    for (const v of s.sketch.samples) {
      const p = postings.get(v);
      if (!p) postings.set(v, [k]);
      else if (p.length <= MAX_POSTING_SEGMENTS) p.push(k);
    }
  });
  const shared = new Map<number, number>();
  for (const p of postings.values()) {
    if (p.length < 2 || p.length > MAX_POSTING_SEGMENTS) continue;
    for (let i = 0; i < p.length; i++)
      for (let j = i + 1; j < p.length; j++) {
        const key = p[i]! * n + p[j]!;
        shared.set(key, (shared.get(key) ?? 0) + 1);
      }
  }
  const edges: [number, number, number][] = [];
  for (const [key, count] of shared) {
    const a = Math.floor(key / n);
    const b = key % n;
    if (cls[a] !== cls[b]) continue;
    const smaller = Math.max(1, Math.min(segments[a]!.sketch.samples.length, segments[b]!.sketch.samples.length));
    const sim = count / smaller;
    if (sim >= MIN_SIMILARITY) edges.push([sim + (b === a + 1 ? NEIGHBOUR_BONUS : 0), a, b]);
  }
  for (let a = 0; a + 1 < n; a++)
    if (cls[a] === cls[a + 1] && !shared.has(a * n + a + 1)) edges.push([NEIGHBOUR_BONUS, a, a + 1]);
  // Strongest first; ties by position, so the result never depends on Map order.
  edges.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const denseWeight = Math.max(1, maxRunBlocks / Math.max(1, maxDenseBlocks));
  const weightOf = (s: SketchedSegment): number => s.dst.blockCount * (s.sketch.dense ? denseWeight : 1);
  // Each cluster's weight, at its root.
  const weight = Float64Array.from(segments, weightOf);
  const root = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]!]!;
    return a;
  };
  for (const [, a, b] of edges) {
    const ra = root(a);
    const rb = root(b);
    if (ra === rb || weight[ra]! + weight[rb]! > maxRunBlocks) continue;
    // The earlier segment's root stays the root, so clusters list in image order below.
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    parent[drop] = keep;
    weight[keep] = weight[keep]! + weight[drop]!;
  }
  const clusters = new Map<number, number[]>();
  for (let k = 0; k < n; k++) {
    const r = root(k);
    const c = clusters.get(r);
    if (c) c.push(k);
    else clusters.set(r, [k]);
  }
  // First fit, in image order of each cluster's first segment, among open chunks of its class.
  const chunks: { cls: string; weight: number; members: number[] }[] = [];
  for (const members of [...clusters.values()].sort((x, y) => x[0]! - y[0]!)) {
    const w = weight[members[0]!]!; // the cluster's weight, kept at its root, its first member
    let chunk = chunks.find((c) => c.cls === cls[members[0]!] && c.weight + w <= maxRunBlocks);
    if (!chunk) chunks.push((chunk = { cls: cls[members[0]!]!, weight: 0, members: [] }));
    chunk.members.push(...members);
    chunk.weight += w;
  }
  const gathered: GatheredItem[] = chunks.map((c) => ({
    kind: 'gathered',
    dst: mergeExtents(c.members.map((k) => segments[k]!.dst)),
  }));
  const firstBlock = (item: ZeroItem | GatheredItem) =>
    item.kind === 'gathered' ? item.dst[0]!.startBlock : item.dst.startBlock;
  return [...zeroItems, ...gathered].sort((x, y) => firstBlock(x) - firstBlock(y));
}
