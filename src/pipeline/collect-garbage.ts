// Frees an encode worker's dead buffers as soon as a chunk is done. V8 reclaims ArrayBuffer
// memory only when its external-memory heuristic fires, long after a chunk's inputs and
// candidates (10+ MiB with 2 MiB chunks) died: on the bench's 1 GiB blob pair two workers kept
// ~130 MiB of such garbage resident. A full collection of a worker's small heap takes a few ms.

import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

/** Runs a full garbage collection of the calling thread's heap. */
export function collectGarbage(): void {
  gc ??= exposedGc();
  gc();
}

function exposedGc(): () => void {
  // `gc` is installed on contexts created after the flag is set; the flag is process-wide.
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
