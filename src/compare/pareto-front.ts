// paretoFront: the points no other point beats on both axes (smaller is better on both), e.g.
// the combinations for which nothing is both smaller and faster to build. Pure.

/** A point with two measures to minimise. */
export interface XY {
  readonly x: number;
  readonly y: number;
}

/** True when `a` is at least as good as `b` on both measures and better on one. */
export function dominates(a: XY, b: XY): boolean {
  return a.x <= b.x && a.y <= b.y && (a.x < b.x || a.y < b.y);
}

/**
 * The non-dominated points, sorted by x (then y). Identical points do not dominate each other,
 * so both stay on the front. O(n²): charts have tens of points.
 */
export function paretoFront<T extends XY>(points: readonly T[]): T[] {
  return points
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .filter((p, _i, all) => !all.some((q) => dominates(q, p)))
    .sort((a, b) => a.x - b.x || a.y - b.y);
}
