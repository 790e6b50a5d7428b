// writeReportFile: writes a report (CSV, HTML) next to its destination and renames it into
// place, so a failed run never leaves half a file; errors become IoErrors naming the path.
// Reports made together are staged first and put in place together (stageReportFile), and a
// long run checks their destinations before it starts (checkReportDestinations).

import { constants } from 'node:fs';
import { access, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ioError, UsageError } from '../errors/ota-error.js';

/** A report written beside its destination under a temporary name, not yet in place. */
export interface StagedReport {
  /** Renames it into place. */
  commit(): Promise<void>;
  /** Removes the temporary file (after a failure elsewhere). */
  discard(): Promise<void>;
}

/** Writes `text` (UTF-8) beside `path` under a temporary name; commit puts it in place. */
export async function stageReportFile(path: string, text: string): Promise<StagedReport> {
  // An exclusively created temp with an unpredictable name: never written through a planted link.
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(8).toString('hex')}`);
  const discard = () => unlink(tmp).catch(() => undefined);
  try {
    await writeFile(tmp, text, { encoding: 'utf8', flag: 'wx', mode: 0o644 });
  } catch (err) {
    await discard();
    throw ioError('write report', path, err);
  }
  return {
    commit: async () => {
      try {
        await rename(tmp, path);
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
 * Refuses, before a long run, report destinations that could not be written at its end: two
 * options naming one file (BAD_OPTION), a path that is a folder (OUTPUT_NOT_FILE), a folder that
 * does not exist or is not one (IoError naming the path, as the write would).
 */
export async function checkReportDestinations(outputs: readonly { option: string; path?: string }[]): Promise<void> {
  const given = outputs.filter((o): o is { option: string; path: string } => o.path !== undefined);
  for (const [i, o] of given.entries()) {
    const twin = given.slice(0, i).find((p) => resolve(p.path) === resolve(o.path));
    if (twin) throw new UsageError('BAD_OPTION', `${twin.option} and ${o.option} both name ${o.path}`);
    const folder = dirname(o.path);
    const folderStat = await stat(folder).catch((err: unknown) => {
      throw ioError('write report', o.path, err);
    });
    if (!folderStat.isDirectory())
      throw ioError('write report', o.path, Object.assign(new Error(`${folder} is not a folder`), { code: 'ENOTDIR' }));
    await access(folder, constants.W_OK | constants.X_OK).catch((err: unknown) => {
      throw ioError('write report', o.path, err);
    });
    const existing = await stat(o.path).catch(() => undefined);
    if (existing?.isDirectory())
      throw new UsageError('OUTPUT_NOT_FILE', `${o.option} ${o.path} is a folder; nothing was written`);
  }
}
