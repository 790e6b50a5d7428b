// Window sizing shared by the LZ codecs and differs: the smallest power-of-two window that holds
// a given number of bytes, clamped to a format's limits. Pure arithmetic, no policy.

/** Smallest `n` with `2 ** n >= sizeBytes` (0 for sizes of 0 or 1). */
export function ceilLog2(sizeBytes: number): number {
  let log = 0;
  while (2 ** log < sizeBytes) log += 1;
  return log;
}

/** `ceilLog2(sizeBytes)` clamped to `[minLog, maxLog]`: the window log that fits the input. */
export function windowLogFor(sizeBytes: number, minLog: number, maxLog: number): number {
  return Math.min(maxLog, Math.max(minLog, ceilLog2(sizeBytes)));
}
