// What to do next, printed when a long command is interrupted (Ctrl-C, SIGTERM, SIGHUP) while its
// work can be continued: registered with the interrupt cleanup (the command line then handles the
// signals, prints this line and ends by the same signal, as it would have).

import { writeSync } from 'node:fs';
import { onInterrupt } from '../image/interrupt-cleanup.js';
import { printable } from '../errors/printable.js';

/**
 * Runs `work`; an interrupt meanwhile prints `ota-build: interrupted: <hint>` on stderr (`hint`
 * may be a function, called then: what to do can depend on what is on disk at that moment), and
 * with `json` also `{"interrupted":{"message":"<hint>"}}` on stdout, where a machine reads.
 */
export async function withInterruptHint<T>(
  hint: string | (() => string),
  work: () => Promise<T>,
  json = false,
): Promise<T> {
  const forget = onInterrupt(() => {
    const message = printable(typeof hint === 'string' ? hint : hint());
    writeSync(2, `ota-build: interrupted: ${message}\n`);
    if (json) writeSync(1, `${JSON.stringify({ interrupted: { message } })}\n`);
  });
  try {
    return await work();
  } finally {
    forget();
  }
}
