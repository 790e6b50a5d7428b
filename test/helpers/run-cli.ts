// Spawns the real `bin/ota-build.js` (which imports dist/) for CLI end-to-end tests, with a clean,
// deterministic environment (no TTY, SOURCE_DATE_EPOCH set unless the caller overrides it).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root (…/main/). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The real CLI entry point. */
export const BIN = join(ROOT, 'bin', 'ota-build.js');
/** Folder of the embedded public test keys. */
export const TEST_KEYS = join(ROOT, 'insecure-test-keys');
/** The deterministic timestamp every test build uses. */
export const EPOCH = '1700000000';

/** What one CLI run produced. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for assertion messages. */
  readonly argv: string;
}

/** Options of a CLI run. */
export interface CliOptions {
  readonly cwd?: string;
  /** Extra environment; a value of `undefined` removes the variable. */
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
}

/** Runs `ota-build args…` synchronously and returns its exit status and output. */
export function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.FORCE_COLOR;
  env.SOURCE_DATE_EPOCH = EPOCH;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, argv: `ota-build ${args.join(' ')}` };
}

/** Runs the CLI and throws (with its output) unless it exits 0. */
export function runCliOk(args: readonly string[], options: CliOptions = {}): CliRun {
  const r = runCli(args, options);
  if (r.status !== 0) throw new Error(`${r.argv} exited ${String(r.status)}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** stderr lines that are not `warning […]` lines (i.e. error output). */
export function nonWarningLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning ['));
}

/** A one-line description of a run for assertion messages. */
export function describeRun(r: CliRun): string {
  return `${r.argv} → exit ${String(r.status)}; stderr=${JSON.stringify(r.stderr)}; stdout=${JSON.stringify(r.stdout.slice(0, 400))}`;
}

/** Parses stdout as JSON, with the run in the error message when it is not JSON. */
export function jsonOf(r: CliRun): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON: ${describeRun(r)}`);
  }
}
