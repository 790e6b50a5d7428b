// mulberry32: the one seeded pseudo-random generator, used for the anchor sampler's gear tables
// (whose values are part of the build's output, so it must never change) and by tests and the
// fuzzer for reproducible data. Not for anything secret. Pure.

/** A generator of uint32 values in `[0, 2^32)` from `seed` (mulberry32); the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
