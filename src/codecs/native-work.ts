// The native addon work this thread has queued on the libuv pool and not yet seen settle:
// lzma-native's encoder streams and pool decodes, and bsdiff-node's diff. A worker thread must not end while some
// is in flight: lzma-native's completion callback then finds the thread's environment torn down
// and throws a C++ exception nothing catches, and std::terminate aborts the whole process
// (SIGABRT, the build's own error lost). The encode worker ends only once none is (encode-worker.ts).
// bsdiff-node (Nan, no C++ exceptions) settles from its completion callback, a loop turn before
// its handle is closed; counting it keeps a worker from ending in the middle of its diff. Here,
// in codecs/, the lowest layer that starts such work (the differs build on it).

let inFlight = 0;
let onIdle: (() => void) | undefined;

/** Counts `work` as in flight until it settles, and returns it (settled the same way). */
export function nativeWork<T>(work: Promise<T>): Promise<T> {
  inFlight++;
  return work.finally(() => {
    inFlight--;
    if (inFlight === 0 && onIdle) {
      const f = onIdle;
      onIdle = undefined;
      f();
    }
  });
}

/** Calls `f` once no native work is in flight on this thread: at once, or when the last settles. */
export function whenNoNativeWork(f: () => void): void {
  if (inFlight === 0) f();
  else onIdle = f;
}
