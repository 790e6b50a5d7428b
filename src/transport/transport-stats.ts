// TransportStats: what a download cost — bytes received, retries, resumed ranges, time spent
// waiting in backoff — reported in `--json` results and drawn by the CLI's progress line.

/** Counters of one HTTP package source; updated as bytes arrive. */
export interface TransportStats {
  /** Body bytes received from the network (including bytes thrown away by a retry). */
  bytesReceived: number;
  /** Failed attempts that were retried (drops, resets, stalls, 5xx, refetched blobs). */
  retries: number;
  /** Range requests that continued a read after a failure. */
  resumes: number;
  /** Milliseconds spent in backoff before retries. */
  waitMs: number;
  /** Range requests sent. */
  requests: number;
}

/** Fresh counters. */
export function emptyStats(): TransportStats {
  return { bytesReceived: 0, retries: 0, resumes: 0, waitMs: 0, requests: 0 };
}
