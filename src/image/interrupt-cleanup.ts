// What a run undoes when it ends (temporary files, folders it made), remembered so that an
// interrupted run (Ctrl-C, SIGTERM, SIGHUP) undoes it too. The library never installs signal
// handlers: the command line watches this registry (watchInterruptCleanup) and handles the
// signals only while something is registered, calling runInterruptCleanupSync. Per thread: a
// worker thread's registrations are its own (the encode pool gives its workers a temp folder
// the main thread registers).

import { rmSync } from 'node:fs';

/** Cleanup actions, in the order registered; run newest first (files before their folders). */
const actions = new Map<symbol, () => void>();
let watcher: ((pending: boolean) => void) | undefined;

/**
 * Remembers a synchronous cleanup `action` until the returned function is called, which the
 * caller does when it has cleaned up itself (or handed the thing over).
 */
export function onInterrupt(action: () => void): () => void {
  const key = Symbol('cleanup');
  actions.set(key, action);
  if (actions.size === 1) watcher?.(true);
  return () => {
    if (actions.delete(key) && actions.size === 0) watcher?.(false);
  };
}

/**
 * onInterrupt for a temporary file or folder the caller is about to make or has made: removed
 * whole (registering before making it leaves no moment when it exists unregistered).
 */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => removeNowSync(path));
}

/**
 * Removes `path` whole, now. A write still running on the thread pool can add a file to a folder
 * while it is being removed (ENOTEMPTY: an interrupted compare once left its temp folder so):
 * the removal is retried a few times, waiting 10, 20, 30… ms, for such writes to land first.
 */
export function removeNowSync(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 10 });
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

/** Tells `listener` when the registry becomes non-empty (true) and empty again (false). */
export function watchInterruptCleanup(listener: (pending: boolean) => void): void {
  watcher = listener;
  if (actions.size > 0) listener(true);
}
