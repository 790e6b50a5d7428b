// sameFile: whether writing an output path would replace an input file (the old image, the
// package, an image a report describes), with symlinks and hard links followed, and two nodes of
// one block device — the check behind "A/B apply never writes the source" and OUTPUT_IS_INPUT.

import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** True when writing `outputPath` would replace `oldPath`, an input (symlinks, hard links and device nodes followed). */
export async function sameFile(oldPath: string, outputPath: string): Promise<boolean> {
  const oldReal = await realpath(oldPath).catch(() => resolve(oldPath));
  const outDirReal = await realpath(dirname(outputPath)).catch(() => resolve(dirname(outputPath)));
  if (oldReal === join(outDirReal, basename(outputPath))) return true;
  const [a, b] = await Promise.all([stat(oldPath).catch(() => undefined), stat(outputPath).catch(() => undefined)]);
  if (a?.isBlockDevice() && b?.isBlockDevice()) return a.rdev === b.rdev;
  return Boolean(a && b && a.dev === b.dev && a.ino === b.ino);
}
