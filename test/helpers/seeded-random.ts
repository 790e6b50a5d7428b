// A tiny seeded PRNG (mulberry32) for reproducible random choices in robustness tests. The seed
// comes from OTA_TEST_SEED when set, so a failure printed with its seed can be replayed.

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

/** mulberry32: small, fast and good enough for test data. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
