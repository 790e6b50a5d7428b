// Frees an encode worker's dead buffers as soon as a chunk is done. V8 reclaims ArrayBuffer
// memory only when its external-memory heuristic fires, long after a chunk's inputs and
// candidates (10+ MiB with 2 MiB chunks) died: on the bench's 1 GiB blob pair two workers kept
// ~130 MiB of such garbage resident. A full collection of a worker's small heap takes a few ms.
// Best effort: where the runtime offers no `gc`, this does nothing.

import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/** Runs a full garbage collection of the calling thread's heap, when the runtime allows it. */
export function collectGarbage(): void {
  if (gc === undefined) gc = exposedGc();
  gc?.();
}

function exposedGc(): (() => void) | null {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as () => void;
  try {
    // `gc` is installed on contexts created after the flag is set (the flag is process-wide).
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}
