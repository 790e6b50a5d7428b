// Stable wire ids of codecs and differs, shared by the format (which stores them) and the
// plugin registries (which resolve them). Never renumber; append only.

/** Codec wire ids. */
export const CodecWireId = {
  none: 0,
  gzip: 1,
  brotli: 2,
  zstd: 3,
  xz: 4,
} as const;
export type CodecName = keyof typeof CodecWireId;

/** Differ wire ids. */
export const DifferWireId = {
  bsdiff: 1,
  'zstd-dict': 2,
  bsdf2: 3,
  'bsdiff-lzma': 4,
  'deflate-aware': 5,
  'exec-aware': 6,
} as const;
export type DifferName = keyof typeof DifferWireId;

/** Finds the name of a wire id in a table; undefined when unknown. */
export function nameOfWireId<T extends Record<string, number>>(table: T, wireId: number): keyof T | undefined {
  return (Object.keys(table) as (keyof T)[]).find((k) => table[k] === wireId);
}
