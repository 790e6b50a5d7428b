// One apply at a time per output: an exclusive lock file beside the output (`.<name>.ota-lock`, or
// `.ota-lock` inside a release folder) holding the owner's pid. It appears with its pid already in
// it: the pid is written to a private file that is then hard-linked to the lock's name (link fails
// if the name exists), so a kill at any moment never leaves a lock without an owner. A lock whose
// pid is no longer alive is stale and taken over: it is first renamed to a unique name, and removed
// only if that moved the very inode found stale (so two takers never both win). A second apply to
// a locked output fails with OUTPUT_BUSY (exit 8) instead of racing the first. Side files a killed
// apply left (its private file, a lock it had moved aside) carry its pid and are removed once it is dead.
// On a file system without hard links (FAT, some network mounts) the lock is created with O_EXCL
// and the pid written after: a lock found empty there is an apply starting, or one killed before
// it wrote its pid, and is taken over once EMPTY_LOCK_STALE_MS old.

import { randomBytes } from 'node:crypto';
import { constants, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { link, lstat, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IoError, ioError } from '../errors/ota-error.js';
import { onInterrupt } from '../image/interrupt-cleanup.js';
import { openOwnedFile } from './owned-file.js';

/** An empty lock (made without hard links, its pid not yet written) is stale once this old. */
const EMPTY_LOCK_STALE_MS = 5_000;
/** link() errors of a file system that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
/** A lock file longer than this is not ours. */
const MAX_LOCK_BYTES = 64;

/** A held lock; `release` removes it if it is still the file this process created. */
export interface OutputLock {
  release(): Promise<void>;
}

/**
 * Whether process `pid` exists (EPERM: it exists under another user) and is not a zombie: a
 * killed apply its parent has not yet reaped still answers signal 0, but holds nothing.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !zombie(pid);
}

/** True when /proc says `pid` is a zombie (state Z); false where there is no /proc. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state …": comm may hold spaces and parentheses, the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Takes the lock at `lockPath` for `outputPath`, or throws OUTPUT_BUSY when another live apply holds it. */
export async function lockOutput(lockPath: string, outputPath: string): Promise<OutputLock> {
  // Said about the output the user named, not the lock's side files (a missing folder, a file
  // where the folder should be, a folder this user may not write).
  const folder = dirname(lockPath);
  const folderError = (err: unknown) => ioError('write output', `${outputPath}: folder ${folder}`, err);
  const st = await stat(folder).catch((err: unknown) => {
    throw folderError(err);
  });
  if (!st.isDirectory()) throw folderError(Object.assign(new Error(`${folder} is not a folder`), { code: 'ENOTDIR' }));
  await removeDeadSideFiles(lockPath);
  for (let attempt = 0; attempt < 3; attempt++) {
    const made = await linkNewLock(lockPath).catch((err: unknown) => {
      throw err instanceof LockCreateError ? folderError(err.cause) : err;
    });
    if (made) {
      // An interrupted apply (Ctrl-C, SIGTERM) removes its lock too; its partial output stays for --resume.
      const forget = onInterrupt(() => unlinkIfSameSync(lockPath, made.dev, made.ino));
      return {
        release: async () => {
          forget();
          await unlinkIfSame(lockPath, made.dev, made.ino);
        },
      };
    }
    const holder = await staleHolder(lockPath);
    if (holder.pid !== undefined) busy(outputPath, lockPath, `pid ${holder.pid}`);
    if (!holder.stale) busy(outputPath, lockPath, holder.why ?? 'another apply');
    if (holder.dev !== undefined) await takeOver(lockPath, holder.dev, holder.ino!);
  }
  return busy(outputPath, lockPath, 'another apply');
}

/** A lock file could not be created (`cause`): reported as the output's folder's error (lockOutput). */
class LockCreateError extends Error {
  constructor(cause: unknown) {
    super('cannot create the output lock', { cause });
  }
}

/** `<lock>.<pid>.<random>.<kind>`: a side file of the apply with that pid. */
function sideFileName(lockPath: string, kind: 'new' | 'stale'): string {
  return `${lockPath}.${process.pid}.${randomBytes(8).toString('hex')}.${kind}`;
}

/**
 * Writes this process's pid to a private file and links it to `lockPath`; returns the lock's
 * inode, or undefined when `lockPath` already exists. The private name is removed either way.
 */
async function linkNewLock(lockPath: string): Promise<{ dev: number; ino: number } | undefined> {
  const fresh = sideFileName(lockPath, 'new');
  let fh;
  try {
    fh = await open(fresh, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new LockCreateError(err);
  }
  try {
    await fh.writeFile(`${process.pid}\n`);
    const st = await fh.stat();
    await fh.close();
    fh = undefined;
    try {
      await link(fresh, lockPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return undefined;
      if (NO_HARD_LINKS.has(code)) return await createNewLock(lockPath);
      throw new LockCreateError(err);
    }
    return { dev: st.dev, ino: st.ino };
  } finally {
    await fh?.close().catch(() => undefined);
    await unlink(fresh).catch(() => undefined);
  }
}

/** Without hard links: creates `lockPath` with O_EXCL, then writes the pid (undefined when it exists). */
async function createNewLock(lockPath: string): Promise<{ dev: number; ino: number } | undefined> {
  let fh;
  try {
    fh = await open(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new LockCreateError(err);
  }
  try {
    await fh.writeFile(`${process.pid}\n`);
    const st = await fh.stat();
    return { dev: st.dev, ino: st.ino };
  } finally {
    await fh.close();
  }
}

/** Removes `<lock>.<pid>.<random>.new|stale` files whose apply is dead (it was killed between two steps). */
async function removeDeadSideFiles(lockPath: string): Promise<void> {
  const prefix = `${basename(lockPath)}.`;
  const names = await readdir(dirname(lockPath)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d{1,10})\.[0-9a-f]{16}\.(?:new|stale)$/.exec(name.slice(prefix.length))?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid)))
      await unlink(join(dirname(lockPath), name)).catch(() => undefined);
  }
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
  // Two links: an apply is taking the lock (its private name is removed right after the link).
  const opened = await openOwnedFile(lockPath, 'read', [], 2);
  // A lock we cannot vouch for (a symlink, another user's file, a folder) is never removed: busy.
  if ('problem' in opened && opened.problem === 'it is missing') return { stale: true }; // released meanwhile: retry
  if ('problem' in opened) return { stale: false, why: `a lock file this applier did not make (${opened.problem})` };
  try {
    const text = opened.st.size <= MAX_LOCK_BYTES ? (await opened.fh.readFile()).toString('utf8') : '';
    const pid = /^(\d{1,10})\n$/.exec(text)?.[1];
    const { dev, ino } = opened.st;
    if (pid !== undefined && Number(pid) !== process.pid && alive(Number(pid)))
      return { pid: Number(pid), stale: false };
    if (opened.st.size === 0 && Date.now() - opened.st.mtimeMs < EMPTY_LOCK_STALE_MS)
      return { stale: false, why: 'an apply that is starting' };
    return { stale: true, dev, ino };
  } finally {
    await opened.fh.close();
  }
}

/** Removes a stale lock if it is still inode (dev, ino); puts back a lock someone took meanwhile. */
async function takeOver(lockPath: string, dev: number, ino: number): Promise<void> {
  const aside = sideFileName(lockPath, 'stale');
  try {
    await rename(lockPath, aside);
  } catch {
    return; // someone else moved it first: try to create again
  }
  const st = await lstat(aside).catch(() => undefined);
  if (st && (st.dev !== dev || st.ino !== ino)) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** unlinkIfSame, now (for an interrupt, which cannot wait). */
function unlinkIfSameSync(lockPath: string, dev: number, ino: number): void {
  const st = lstatSync(lockPath, { throwIfNoEntry: false });
  if (st && st.dev === dev && st.ino === ino) unlinkSync(lockPath);
}

async function unlinkIfSame(lockPath: string, dev: number, ino: number): Promise<void> {
  const st = await lstat(lockPath).catch(() => undefined);
  if (st && st.dev === dev && st.ino === ino) await unlink(lockPath).catch(() => undefined);
}
