// The ota-build command line: declares commands (each lazily imports its library code), and is
// the one error boundary: OtaErrors become one line and their documented exit code. It also
// handles interrupts while a run has temporaries to remove (handleSignalsWhileCleanupPending).

import { Command, CommanderError } from 'commander';
import { fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { ExitCode, ioError, OtaError, type ErrorCode } from '../errors/ota-error.js';
import { printable, printableLines } from '../errors/printable.js';
import { runInterruptCleanupSync, watchInterruptCleanup } from '../image/interrupt-cleanup.js';
import type { CommandResult } from './command-result.js';
import { applyCommand } from './commands/apply.js';
import { buildCommand } from './commands/build.js';
import { compareCommand } from './commands/compare.js';
import { inspectCommand } from './commands/inspect.js';
import { keygenCommand } from './commands/keygen.js';
import { targetsCommand } from './commands/targets.js';
import { verifyCommand } from './commands/verify.js';
import { refuseEmptyValues } from './empty-values.js';
import { guardRepeatedOptions } from './repeated-options.js';
import { requireOptionsAfterParse } from './required-options.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * Where commander writes: help to stdout, the rest to stderr, and its parse errors (an unknown
 * command or option, a missing value) as one line in the form of every other error; with --json,
 * report() prints them as JSON instead (once, on stdout, like every other error).
 */
function outputFor(json: boolean) {
  return {
    writeErr: (s: string) => process.stderr.write(s),
    outputError: (message: string, write: (s: string) => void) => {
      if (json) return;
      write(
        `ota-build: error [USAGE]: ${printable(oneLine(message.replace(/^error: /, '')))} (run with --help for usage)\n`,
      );
    },
  };
}

/** Every command, in the order the help lists them. */
export const COMMANDS = [
  buildCommand,
  applyCommand,
  verifyCommand,
  inspectCommand,
  compareCommand,
  keygenCommand,
  targetsCommand,
] as const;

/** A command as the CLI declares it (repeated and empty option values refused), running its work with `run`. */
export function declareCommand(
  make: (typeof COMMANDS)[number],
  run: (work: () => Promise<CommandResult>) => Promise<void>,
): Command {
  return refuseEmptyValues(guardRepeatedOptions(requireOptionsAfterParse(make(run))));
}

/** A message of several lines (commander's "(Did you mean build?)") as one. */
const oneLine = (text: string): string => text.trim().replace(/\s*\n\s*/g, ' ');

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  const output = outputFor(wantsJson);
  let exitCode: number = ExitCode.ok;
  const run = async (work: () => Promise<CommandResult>) => {
    const result = await work();
    await writeStdout(wantsJson ? `${JSON.stringify(result.json, null, 2)}\n` : result.text ? `${result.text}\n` : '');
  };
  const program = new Command('ota-build')
    .description('Build, sign, verify, apply and inspect delta OTA packages for Qualcomm, MediaTek and Unisoc phones.')
    .version(version)
    .exitOverride()
    .configureOutput(output)
    .addHelpText(
      'after',
      '\nQuick start:\n  ota-build build --old v1.img --new v2.img -o out\n  ota-build verify out/update-qualcomm.otapkg\n  ota-build apply out/update-qualcomm.otapkg --old v1.img -o v2-applied.img\n\nExit codes: 0 ok, 1 internal error, 2 usage, 3 bad input image, 4 bad package, 5 verification mismatch, 6 signature, 7 unsupported, 8 I/O.',
    );
  for (const make of COMMANDS) program.addCommand(declareCommand(make, run).exitOverride().configureOutput(output));
  if (argv.length === 0) {
    // A script running `ota-build $CMD` with an empty $CMD must not see success.
    process.stderr.write(program.helpInformation());
    return ExitCode.usage;
  }
  // `help <unknown>`: commander prints the whole help with no word of what was wrong; parsed as
  // the unknown command itself, it is the one-line error `ota-build <unknown>` gives (with its
  // "Did you mean" suggestion).
  const args =
    argv[0] === 'help' && argv[1] !== undefined && !program.commands.some((c) => c.name() === argv[1])
      ? argv.slice(1)
      : argv;
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    exitCode = report(err, wantsJson);
  }
  return exitCode;
}

/**
 * Writes the result to stdout and waits for it: a write that fails (a full disk, a closed pipe)
 * is an I/O error (exit 8), never a success with an empty or cut result.
 */
function writeStdout(text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  const failed = (err: unknown) => {
    stdoutFailed = true;
    return ioError('write the result to', 'standard output', err);
  };
  // A file: written here until every byte is (Node's stream makes one write and drops a short
  // count, so a disk filling up part-way would cut the result with exit 0).
  if (fileIsRegular(1)) {
    const bytes = Buffer.from(text);
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(1, bytes, at);
    } catch (err) {
      return Promise.reject(failed(err));
    }
    return Promise.resolve();
  }
  // Reported through the callback below; unhandled, the stream's 'error' event would crash the process.
  if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      if (!err) return resolve();
      reject(failed(err));
    });
  });
}

/** Whether descriptor `fd` is a regular file. */
function fileIsRegular(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** A result could not be written to stdout: its error goes to stderr, even with --json. */
let stdoutFailed = false;

function report(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    // `help <known command>` exits 0; `help <unknown>` is a usage error.
    if (err.code === 'commander.help') return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (json)
      process.stdout.write(
        `${JSON.stringify({ error: { code: 'USAGE' satisfies ErrorCode, message: oneLine(err.message.replace(/^error: /, '')) } })}\n`,
      );
    return ExitCode.usage;
  }
  if (err instanceof OtaError) {
    if (json && !stdoutFailed)
      process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
    else process.stderr.write(`ota-build: error [${printable(err.code)}]: ${printable(err.message)}\n`);
    return err.exitCode;
  }
  const message = (err as Error)?.stack ?? String(err);
  if (json)
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'INTERNAL' satisfies ErrorCode, message: String((err as Error)?.message ?? err) } })}\n`,
    );
  process.stderr.write(`ota-build: internal error (please report): ${printableLines(message)}\n`);
  return ExitCode.internal;
}

// Entry point when run as a program (bin/ota-build.js imports this module).
export async function runFromProcess(): Promise<void> {
  handleSignalsWhileCleanupPending();
  const code = await main(process.argv.slice(2));
  process.exit(code);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * While a run has something registered (interrupt-cleanup.ts: temporaries to remove, or apply's
 * hint on how to go on), an interrupt runs it, then ends the process by the same signal, so a
 * shell or a CI runner sees what it would have seen (exit 130 for Ctrl-C, 143 for SIGTERM); the
 * interrupt then waits for the synchronous step in progress (a patch being applied, an xz blob decoded) to end. Otherwise
 * the signals keep their default action: a command with nothing registered stops at once, even
 * inside a long synchronous step.
 */
function handleSignalsWhileCleanupPending(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    runInterruptCleanupSync();
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
    // Still running: as PID 1 (a container without an init) the default action is ignored.
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  watchInterruptCleanup((pending) => {
    for (const s of SIGNALS) {
      if (pending) process.on(s, onSignal);
      else process.removeListener(s, onSignal);
    }
  });
}
