// Human output of `apply`: one line for a single image, a table of partitions for a release.

import type { ApplyResult } from '../apply/apply-result.js';
import { formatBytes, formatCount, renderTable } from './render.js';

/** The text `apply` prints for `r`. */
export function applyText(r: ApplyResult): string {
  if (r.kind === 'image') {
    const where = r.outputKind === 'block-device' ? `block device ${r.outputPath} (in place)` : r.outputPath;
    const resumed = r.resumedFromOp > 0 ? `, resumed after op ${r.resumedFromOp}` : '';
    const expanded = r.outputFormat === 'sparse' ? ' expanded' : '';
    return `wrote ${where} (${r.outputFormat}, ${r.sizeBytes} bytes${expanded}, sha256 ${r.sha256}) from ${formatCount(r.operationCount, 'operation')}${resumed} for ${r.targetId}`;
  }
  if (r.kind === 'in-place') {
    const start = {
      base: 'from the base image',
      done: 'already up to date',
      interrupted: 'resumed from an interrupted run',
      full: 'from the image as it was (a full package needs no base)',
    }[r.start];
    return (
      `updated ${r.imagePath} in place (${r.sizeBytes} bytes, sha256 ${r.sha256}) for ${r.targetId}, ${start}: ` +
      `${r.opsRun} of ${formatCount(r.operationCount, 'operation')} run, ${formatCount(r.stashFilesWritten, 'stash', 'stashes')} written (${formatBytes(r.stashBytesWritten)}; peak ${formatBytes(r.peakStashBytes)})`
    );
  }
  return (
    `wrote ${formatCount(r.partitions.length, 'partition')} into ${r.outputPath} for ${r.targetId}\n` +
    renderTable(
      ['partition', 'status', 'file', 'size', 'sha256', 'resumed'],
      r.partitions.map((p) => [
        p.name,
        p.status,
        p.outputPath,
        formatBytes(p.sizeBytes),
        p.sha256.slice(0, 16) + '…',
        p.resumedFromOp > 0 ? `after op ${p.resumedFromOp}` : '-',
      ]),
    )
  );
}
