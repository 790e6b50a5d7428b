// writeReportFile: writes a report (CSV, HTML) next to its destination and renames it into
// place, so a failed run never leaves half a file; errors become IoErrors naming the path. A
// destination that is a device, FIFO or socket (/dev/null, a pipe) is written into, never
// replaced; so is this process's own open file (/dev/stdout, /dev/fd/N: written through that
// descriptor, after what the process wrote there before); a symbolic link stays a link (the file
// it names is replaced), and a replaced file keeps its permissions. Reports made together are
// staged first and put in place together (writeReportFiles).

import { constants, fstatSync, writeSync } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ioError, UsageError } from '../errors/ota-error.js';
import { linkTarget } from '../image/link-target.js';

/** A report written beside its destination under a temporary name, not yet in place. */
export interface StagedReport {
  /** Renames it into place. */
  commit(): Promise<void>;
  /** Removes the temporary file (after a failure elsewhere). */
  discard(): Promise<void>;
}

/**
 * Writes `text` (UTF-8) beside `path` under a temporary name; commit puts it in place. Where
 * `path` is (or links to) a device, FIFO or socket, commit writes `text` into it instead: a
 * rename would put a regular file in its place (`--html /dev/null` run as root would replace
 * /dev/null).
 */
export async function stageReportFile(path: string, text: string): Promise<StagedReport> {
  const target = await linkTarget(path);
  if (target.kind === 'process-file') {
    const fd = target.fd;
    const commit = fd === undefined ? () => writeIntoNode(path, text) : () => writeIntoDescriptor(path, fd, text);
    return { commit, discard: async () => undefined };
  }
  const destination = target.path;
  const existing = await stat(destination).catch(() => undefined);
  if (existing === undefined && target.throughLink)
    throw new UsageError('OUTPUT_NOT_FILE', `${path} is a dangling symlink (to ${destination}); nothing was written`);
  if (existing !== undefined && !existing.isFile() && !existing.isDirectory()) {
    return { commit: () => writeIntoNode(destination, text), discard: async () => undefined };
  }
  // An exclusively created temp with an unpredictable name: never written through a planted link.
  const tmp = join(dirname(destination), `.${basename(destination)}.tmp-${randomBytes(8).toString('hex')}`);
  const discard = () => unlink(tmp).catch(() => undefined);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    await fh.writeFile(text, 'utf8');
    // A report replacing a file keeps that file's read and write permissions (a private one
    // stays private), set through the handle of the file this run created.
    if (existing?.isFile()) await fh.chmod(existing.mode & 0o777);
    await fh.close();
    fh = undefined;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await discard();
    throw ioError('write report', path, err);
  }
  return {
    commit: async () => {
      try {
        await rename(tmp, destination);
      } catch (err) {
        await discard();
        throw ioError('write report', path, err);
      }
    },
    discard,
  };
}

/** Writes `text` (UTF-8) to `path` atomically. */
export async function writeReportFile(path: string, text: string): Promise<void> {
  await (await stageReportFile(path, text)).commit();
}

/**
 * Writes every report: all are written under temporary names before any is put in place, so a
 * report that cannot be written leaves none of the others. (A rename failing after another
 * succeeded, which the checks before it make unlikely, leaves that other in place.)
 */
export async function writeReportFiles(reports: readonly { path: string; text: string }[]): Promise<void> {
  const staged: StagedReport[] = [];
  try {
    for (const r of reports) staged.push(await stageReportFile(r.path, r.text));
    while (staged.length > 0) {
      await staged[0]!.commit();
      staged.shift();
    }
  } catch (err) {
    await Promise.all(staged.map((s) => s.discard()));
    throw err;
  }
}

/**
 * Writes `text` into the device, FIFO or socket at `path`: opened for writing without creating or
 * truncating anything, and checked through the handle to be no regular file or folder (a file
 * put there since would be refused, not overwritten).
 */
async function writeIntoNode(path: string, text: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_NOCTTY);
    const st = await fh.stat();
    if (st.isFile() || st.isDirectory())
      throw new Error('it was replaced by a file or folder while the report was made');
    await fh.writeFile(text, 'utf8');
  } catch (err) {
    throw ioError('write report', path, err);
  } finally {
    await fh?.close();
  }
}

/**
 * Writes `text` (UTF-8) through this process's descriptor `fd` (what `path`, such as /dev/stdout,
 * names through /proc): after what was written there before, where a new opening of the file it
 * holds would start at its beginning and write over that.
 */
async function writeIntoDescriptor(path: string, fd: number, text: string): Promise<void> {
  try {
    if (fd === 1 || fd === 2) {
      const stream = fd === 1 ? process.stdout : process.stderr;
      // A file: written here until every byte is (the stream makes one write and drops a short count).
      if (!fstatSync(fd).isFile()) {
        // Reported through the callback; unhandled, the stream's 'error' event would end the process.
        if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
        return;
      }
    }
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
  } catch (err) {
    throw ioError('write report', path, err);
  }
}
