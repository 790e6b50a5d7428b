// checkReportDestinations: refuses, before a long compare or inspect run, `--csv`/`--html`
// destinations that could not be written at its end.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors/ota-error.js';
import { assertWritableFolder } from '../image/writable-folder.js';

/**
 * Refuses, before a long run, report destinations that could not be written at its end: two
 * options naming one file or `-` (BAD_OPTION), a path that is a folder (OUTPUT_NOT_FILE), a folder that
 * does not exist, is not one or may not be written (IoError naming the path, as the write would).
 */
export async function checkReportDestinations(outputs: readonly { option: string; path?: string }[]): Promise<void> {
  const given = outputs.filter((o): o is { option: string; path: string } => o.path !== undefined);
  for (const [i, o] of given.entries()) {
    // Not standard output: that carries the table or --json.
    if (o.path === '-')
      throw new UsageError(
        'BAD_OPTION',
        `${o.option} - : give a file name (standard output carries the table, or --json)`,
      );
    const twin = given.slice(0, i).find((p) => resolve(p.path) === resolve(o.path));
    if (twin) throw new UsageError('BAD_OPTION', `${twin.option} and ${o.option} both name ${o.path}`);
    await assertWritableFolder(o.path, 'write report');
    const existing = await stat(o.path).catch(() => undefined);
    if (existing?.isDirectory())
      throw new UsageError('OUTPUT_NOT_FILE', `${o.option} ${o.path} is a folder; nothing was written`);
  }
}
