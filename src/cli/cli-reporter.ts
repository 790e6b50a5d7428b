// The CLI's Reporter: warnings to stderr (once each; for build, once work begins), progress as an
// ora spinner on a TTY only (or plain lines with --progress when stderr is not a TTY). Nothing on
// stdout: that is for results.

import type { Ora } from 'ora';
import { UsageError } from '../errors/ota-error.js';
import { strictCodeOf } from '../errors/warning-codes.js';
import { printable } from '../errors/printable.js';
import type { ProgressEvent, Reporter, Warning } from '../reporter.js';

/** How the CLI shows progress. */
export interface CliReporterOptions {
  /** Show progress even when stderr is not a TTY (plain lines). */
  readonly forceProgress?: boolean;
  /** Promote warnings to errors. */
  readonly strict?: boolean;
  /**
   * Hold warnings until work begins (the first progress event: the inputs are open) or until
   * showHeldWarnings(): a command that fails on its inputs first prints its error alone, not
   * after warnings about a package it never made.
   */
  readonly holdWarnings?: boolean;
}

/** A Reporter that writes to stderr. */
export class CliReporter implements Reporter {
  readonly warnings: Warning[] = [];
  /** Warnings not shown yet (holdWarnings). */
  private held: Warning[] | undefined;
  private spinner: Ora | undefined;
  private lastPlain = '';

  private constructor(
    private readonly options: CliReporterOptions,
    private readonly ora: ((o: object) => Ora) | undefined,
  ) {
    if (options.holdWarnings) this.held = [];
  }

  /** Creates a reporter; loads ora only when it will be used. */
  static async create(options: CliReporterOptions): Promise<CliReporter> {
    // A TTY that reports 0 columns (some CI ptys, `docker run -t`) makes ora's redraw loop spin
    // forever: use the spinner only on a terminal with a real width.
    const tty = Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0;
    const ora = tty ? ((await import('ora')).default as unknown as (o: object) => Ora) : undefined;
    return new CliReporter(options, ora);
  }

  warn(w: Warning): void {
    if (this.warnings.some((x) => x.code === w.code && x.message === w.message)) return;
    this.warnings.push(w);
    // --strict: a warning aborts the command before anything is written.
    const strictCode = this.options.strict ? strictCodeOf(w.code) : undefined;
    if (strictCode) throw new UsageError(strictCode, `--strict: ${printable(w.message)}`);
    if (this.held) this.held.push(w);
    else this.show(w);
  }

  /** Shows the warnings held so far (holdWarnings); later ones are shown as they come. */
  showHeldWarnings(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const w of held) this.show(w);
  }

  progress(e: ProgressEvent): void {
    this.showHeldWarnings();
    const pct = e.total > 0 ? Math.floor((100 * e.done) / e.total) : 0;
    const text = printable(`${e.phase} ${pct}%${e.detail ? ` ${e.detail}` : ''}`);
    if (this.ora) {
      this.spinner ??= this.ora({ stream: process.stderr, text }).start();
      this.spinner.text = text;
    } else if (this.options.forceProgress) {
      const line = printable(`${e.phase} ${Math.floor(pct / 10) * 10}%${e.detail ? ` ${e.detail}` : ''}`);
      if (line !== this.lastPlain) process.stderr.write(`${line}\n`);
      this.lastPlain = line;
    }
  }

  /** Stops the spinner (call before printing results). */
  stop(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }

  private show(w: Warning): void {
    this.pause(() => process.stderr.write(`warning [${printable(w.code)}]: ${printable(w.message)}\n`));
  }

  private pause(write: () => void): void {
    const text = this.spinner?.text;
    this.stop();
    write();
    if (text !== undefined && this.ora) this.spinner = this.ora({ stream: process.stderr, text }).start();
  }
}
