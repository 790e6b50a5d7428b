// Binary search over sorted keys (numbers, bigints, typed arrays), the one copy used by the
// digest and anchor indexes, the sparse chunk map and the manifest's overlap check. Pure.

/** A key that orders with `<`: a number or a bigint (one kind per array). */
export type SortKey = number | bigint;

/** The first index in `[0, length)` of ascending `sorted` whose key is ≥ `value` (`length` when none). */
export function lowerBound<K extends SortKey>(sorted: ArrayLike<K>, value: K, length = sorted.length): number {
  return partitionPoint(length, (i) => sorted[i]! < value);
}

/** The first index in `[0, length)` of ascending `sorted` whose key is > `value` (`length` when none). */
export function upperBound<K extends SortKey>(sorted: ArrayLike<K>, value: K, length = sorted.length): number {
  return partitionPoint(length, (i) => sorted[i]! <= value);
}

/**
 * The first index in `[0, length)` where `isBefore` is false, for a predicate that is true on a
 * prefix and false after it (`length` when it never turns false).
 */
export function partitionPoint(length: number, isBefore: (index: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBefore(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
