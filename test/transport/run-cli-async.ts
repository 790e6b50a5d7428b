// Runs the built CLI without blocking the event loop (the fault proxy lives in the test process).

import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, EPOCH, type CliRun } from '../helpers/run-cli.js';

/** Runs `ota-build args…` and resolves when it exits; `onSpawn` gets the child (to kill it). */
export function runCliAsync(args: readonly string[], onSpawn?: (c: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SOURCE_DATE_EPOCH: EPOCH };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    onSpawn?.(child);
    child.on('close', (status) => resolve({ status, stdout, stderr, argv: args.join(' ') }));
  });
}
