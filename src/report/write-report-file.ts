// writeReportFile: writes a report (CSV, HTML) next to its destination and renames it into
// place, so a failed run never leaves half a file; errors become IoErrors naming the path.

import { rename, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ioError } from '../errors/ota-error.js';

/** Writes `text` (UTF-8) to `path` atomically. */
export async function writeReportFile(path: string, text: string): Promise<void> {
  // An exclusively created temp with an unpredictable name: never written through a planted link.
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(8).toString('hex')}`);
  try {
    await writeFile(tmp, text, { encoding: 'utf8', flag: 'wx', mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError('write report', path, err);
  }
}
