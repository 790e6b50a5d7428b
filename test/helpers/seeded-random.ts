// The tests' one seeded PRNG (mulberry32, the same one src/ uses) for reproducible random data and
// choices. The seed comes from OTA_TEST_SEED when set, so a failure printed with its seed can be replayed.

import { mulberry32 } from '../../src/hashing/mulberry32.js';

/** A seeded random source. */
export interface Rng {
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number;
  /** Fills a new buffer with random bytes. */
  bytes(length: number): Buffer;
}

/** Uniform floats in [0, 1) from `seed` (mulberry32): small, fast and good enough for test data. */
export function prng(seed: number): () => number {
  const next32 = mulberry32(seed);
  return () => next32() / 4294967296;
}

/** A seeded random source over {@link prng}. */
export function seededRng(seed: number): Rng {
  const next = prng(seed);
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    bytes: (length) => {
      const out = Buffer.alloc(length);
      for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}

/** The suite seed: OTA_TEST_SEED if set (decimal), else `fallback`. */
export function suiteSeed(fallback: number): number {
  const raw = process.env.OTA_TEST_SEED;
  return raw && /^\d+$/.test(raw) ? Number(raw) >>> 0 : fallback >>> 0;
}
