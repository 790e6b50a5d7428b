// A small tmpfs mounted for one test (needs root, as CI has): where an apply runs out of space.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { expect } from 'vitest';

/** Mounts a tmpfs of `sizeMiB` at `dir` (created), runs `body` with it, and unmounts it whatever happens. */
export async function withSmallTmpfs(dir: string, sizeMiB: number, body: () => Promise<void>): Promise<void> {
  mkdirSync(dir);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { encoding: 'utf8' });
  expect(m.status, `mounting a ${sizeMiB} MiB tmpfs (needs root): ${m.stderr}`).toBe(0);
  try {
    await body();
  } finally {
    spawnSync('umount', [dir]);
  }
}
