// The options every command that takes a package URL shares (--retries, --timeout, --ca-file), the
// HttpSourceOptions made of them, and the progress line drawn on a TTY (bytes, speed, ETA, retries).

import { isPackageUrl, refuseOtherUrl } from '../transport/byte-range-source.js';
import type { Command } from 'commander';
import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { emptyStats, type TransportStats } from '../transport/transport-stats.js';
import { UsageError } from '../errors/ota-error.js';
import { parseIntOption } from './parse-options.js';
import { formatBytes } from './render.js';

/** Adds the URL options to a command. */
export function withTransportOptions(cmd: Command): Command {
  return cmd
    .option(
      '--retries <n>',
      'package URL: how many times a failed or stalled read is tried again, in a row without progress, before giving up (0..100; default 5, so up to 6 attempts; 0: none; the wait doubles from 250 ms with jitter, at most 10 s)',
      parseIntOption('--retries', 0, 100),
    )
    .option(
      '--timeout <seconds>',
      'package URL: a read that receives no byte for this long is retried (1..3600; default 30)',
      parseIntOption('--timeout', 1, 3600),
    )
    .option('--ca-file <pem>', 'package URL: trust these CA certificates for https instead of the system ones');
}

/**
 * HttpSourceOptions from parsed options, plus the counters they fill in and a progress line on a
 * TTY. The URL options given with a local package are refused (BAD_OPTION), not ignored.
 */
export function transportFrom(
  pkg: string,
  o: { retries?: number; timeout?: number; caFile?: string; json?: boolean },
): {
  http: HttpSourceOptions;
  stats: () => TransportStats;
  done: () => void;
} {
  refuseOtherUrl(pkg);
  if (!isPackageUrl(pkg)) {
    const given = [
      ['--retries', o.retries],
      ['--timeout', o.timeout],
      ['--ca-file', o.caFile],
    ].filter(([, v]) => v !== undefined);
    if (given.length > 0)
      throw new UsageError(
        'BAD_OPTION',
        `${given.map(([name]) => name).join(', ')} ${given.length === 1 ? 'is' : 'are'} for a package URL; ${pkg} is a local file`,
      );
  }
  let last: TransportStats = emptyStats();
  const tty = process.stderr.isTTY && !o.json;
  const startedMs = Date.now();
  let drawnMs = 0;
  const http: HttpSourceOptions = {
    retries: o.retries,
    timeoutSeconds: o.timeout,
    caFile: o.caFile,
    onProgress: (stats, totalBytes) => {
      last = stats;
      const now = Date.now();
      if (!tty || now - drawnMs < 200) return;
      drawnMs = now;
      const perSecond = stats.bytesReceived / Math.max(0.001, (now - startedMs) / 1000);
      const etaSeconds = Math.max(0, (totalBytes - stats.bytesReceived) / Math.max(1, perSecond));
      process.stderr.write(
        `\r${formatBytes(stats.bytesReceived)} / ${formatBytes(totalBytes)}  ${formatBytes(perSecond)}/s  ETA ${Math.round(etaSeconds)} s  retries ${stats.retries}\x1b[K`,
      );
    },
  };
  return {
    http,
    stats: () => last,
    done: () => {
      if (tty && drawnMs > 0) process.stderr.write('\r\x1b[K');
    },
  };
}

/** The counters `--json` results carry for a package URL (none for a local file). */
export function transportJson(where: string, s: TransportStats): Record<string, number> {
  if (!isPackageUrl(where)) return {};
  return { bytesReceived: s.bytesReceived, retries: s.retries, resumes: s.resumes, waitMs: s.waitMs };
}
