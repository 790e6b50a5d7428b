// What a run undoes when it ends (temporary files, folders it made), remembered so that an
// interrupted run (Ctrl-C, SIGTERM, SIGHUP) undoes it too: the command line's signal handler
// calls runInterruptCleanupSync. The library never installs signal handlers itself.

import { rmSync } from 'node:fs';

/** Cleanup actions, in the order registered; run newest first (files before their folders). */
const actions = new Map<symbol, () => void>();

/**
 * Remembers a synchronous cleanup `action` until the returned function is called, which the
 * caller does when it has cleaned up itself (or handed the thing over).
 */
export function onInterrupt(action: () => void): () => void {
  const key = Symbol('cleanup');
  actions.set(key, action);
  return () => {
    actions.delete(key);
  };
}

/** onInterrupt for a temporary file or folder the caller made: removed whole. */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => rmSync(path, { recursive: true, force: true }));
}

/** Runs every remembered action, newest first, synchronously (a signal handler cannot wait). */
export function runInterruptCleanupSync(): void {
  for (const action of [...actions.values()].reverse()) {
    try {
      action();
    } catch {
      // Best effort: the run is ending either way.
    }
  }
  actions.clear();
}
