// makeFolders: `mkdir -p` that always ends, and its undo (removeMadeFolders, and its synchronous
// form for an interrupted run). Node 20's recursive mkdir spins forever on a path in a
// file system that refuses new folders with ENOENT (`/proc/x`); this walks up to the nearest
// existing folder and creates the missing ones one by one, so such a path fails at once.

import { rmdirSync } from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

/**
 * Creates `path` and its missing parents; returns the first folder it created (the top-most, as
 * `mkdir(path, { recursive: true })` does), or undefined when it created none. Rejects with the
 * failing call's error (ENOTDIR for a file in the way), having removed what it made.
 */
export async function makeFolders(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let d = resolve(path); ; d = dirname(d)) {
    const st = await stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      return undefined;
    });
    if (st) {
      if (!st.isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a folder, ${d}`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  missing.reverse();
  // Only what this call made counts (a folder another process made meanwhile is theirs), and a
  // failure part-way removes it again.
  const made: string[] = [];
  for (const d of missing) {
    try {
      await mkdir(d);
      made.push(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      for (const m of made.reverse()) await rmdir(m).catch(() => undefined);
      throw err;
    }
  }
  return made[0];
}

/**
 * The folders removeMadeFolders tries, in order: `path`, then its parents up to `made`.
 */
function madeChain(path: string, made: string): string[] {
  const top = resolve(made);
  const chain: string[] = [];
  for (let d = resolve(path); d === top || d.startsWith(top + sep); d = dirname(d)) {
    chain.push(d);
    if (d === top) break;
  }
  return chain;
}

/**
 * Undoes makeFolders after a failure: removes `path` and its parents up to `made` (what
 * makeFolders returned), each only if empty, stopping at the first that is not.
 */
export async function removeMadeFolders(path: string, made: string): Promise<void> {
  for (const d of madeChain(path, made))
    if (
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
}

/** removeMadeFolders, synchronously (for an interrupted run: interrupt-cleanup.ts). */
export function removeMadeFoldersSync(path: string, made: string): void {
  try {
    for (const d of madeChain(path, made)) rmdirSync(d);
  } catch {
    // the first folder that is not empty (or not ours to remove) ends the walk
  }
}
