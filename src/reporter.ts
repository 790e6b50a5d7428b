// Reporter: how the library tells its caller about warnings and progress. The core never prints;
// cli/ supplies a Reporter that does (ora on a TTY), the library default collects silently.

import type { WarningCode } from './errors/warning-codes.js';

/** A warning with a stable code from WARNING_CODES (`TEST_KEY`, `NO_TIMESTAMP`, …). */
export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
}

/** A progress event: a named phase and how far it is. */
export interface ProgressEvent {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
}

/** Receives warnings and progress from the library. */
export interface Reporter {
  warn(warning: Warning): void;
  progress(event: ProgressEvent): void;
}

/** A Reporter that keeps warnings and drops progress. */
export class CollectingReporter implements Reporter {
  readonly warnings: Warning[] = [];

  warn(warning: Warning): void {
    if (!this.warnings.some((w) => w.code === warning.code && w.message === warning.message))
      this.warnings.push(warning);
  }

  progress(): void {}
}

/** A Reporter that forwards to `inner`, labelling every progress event with `detail` (e.g. the partition). */
export function withProgressDetail(inner: Reporter, detail: string): Reporter {
  return {
    warn: (w) => inner.warn(w),
    progress: (e) => inner.progress({ ...e, detail: e.detail ? `${detail} ${e.detail}` : detail }),
  };
}
