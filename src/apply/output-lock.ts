// One apply at a time per output: an exclusive lock file beside the output (`.<name>.ota-lock`, or
// `.ota-lock` inside a release folder), created with O_EXCL and holding the owner's pid. A lock
// whose pid is no longer alive is stale and taken over: it is first renamed to a unique name, and
// removed only if that moved the very inode found stale (so two takers never both win). A second
// apply to a locked output fails with OUTPUT_BUSY (exit 8) instead of racing the first.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { IoError, ioError } from '../errors/ota-error.js';
import { openOwnedFile } from './owned-file.js';

/** A lock file without a pid (its owner died between create and write) is stale after this. */
const EMPTY_LOCK_STALE_MS = 60_000;
/** A lock file longer than this is not ours. */
const MAX_LOCK_BYTES = 64;

/** A held lock; `release` removes it if it is still the file this process created. */
export interface OutputLock {
  release(): Promise<void>;
}

/** Whether process `pid` exists (EPERM: it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock at `lockPath` for `outputPath`, or throws OUTPUT_BUSY when another live apply holds it. */
export async function lockOutput(lockPath: string, outputPath: string): Promise<OutputLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(
        lockPath,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await fh.writeFile(`${process.pid}\n`);
        const st = await fh.stat();
        return { release: () => unlinkIfSame(lockPath, st.dev, st.ino) };
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create lock', lockPath, err);
    }
    const holder = await staleHolder(lockPath);
    if (holder.pid !== undefined) busy(outputPath, lockPath, `pid ${holder.pid}`);
    if (!holder.stale) busy(outputPath, lockPath, holder.why ?? 'an apply that is starting');
    if (holder.dev !== undefined) await takeOver(lockPath, holder.dev, holder.ino!);
  }
  return busy(outputPath, lockPath, 'another apply');
}

function busy(outputPath: string, lockPath: string, who: string): never {
  throw new IoError(
    'OUTPUT_BUSY',
    `${outputPath} is locked by ${who} (lock ${lockPath}); nothing was written; retry when that apply has finished`,
  );
}

/** Who holds the lock: a live pid, or whether the lock is stale (with its inode). */
async function staleHolder(
  lockPath: string,
): Promise<{ pid?: number; stale: boolean; why?: string; dev?: number; ino?: number }> {
  const opened = await openOwnedFile(lockPath, 'read');
  // A lock we cannot vouch for (a symlink, another user's file, a folder) is never removed: busy.
  if ('problem' in opened && opened.problem === 'it is missing') return { stale: true }; // released meanwhile: retry
  if ('problem' in opened) return { stale: false, why: `a lock file this applier did not make (${opened.problem})` };
  try {
    const text = opened.st.size <= MAX_LOCK_BYTES ? (await opened.fh.readFile()).toString('utf8') : '';
    const pid = /^(\d{1,10})\n$/.exec(text)?.[1];
    const { dev, ino } = opened.st;
    if (pid !== undefined && Number(pid) !== process.pid && alive(Number(pid)))
      return { pid: Number(pid), stale: false };
    if (pid === undefined && Date.now() - opened.st.mtimeMs < EMPTY_LOCK_STALE_MS) return { stale: false };
    return { stale: true, dev, ino };
  } finally {
    await opened.fh.close();
  }
}

/** Removes a stale lock if it is still inode (dev, ino); puts back a lock someone took meanwhile. */
async function takeOver(lockPath: string, dev: number, ino: number): Promise<void> {
  const aside = `${lockPath}.stale-${randomBytes(8).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // someone else moved it first: try to create again
  }
  const st = await lstat(aside).catch(() => undefined);
  if (st && (st.dev !== dev || st.ino !== ino)) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

async function unlinkIfSame(lockPath: string, dev: number, ino: number): Promise<void> {
  const st = await lstat(lockPath).catch(() => undefined);
  if (st && st.dev === dev && st.ino === ino) await unlink(lockPath).catch(() => undefined);
}
