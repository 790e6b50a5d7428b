// SIGKILL (or another signal) of a running CLI at a chosen moment: once its partial output exists
// (the work has begun), after a delay, or once a condition holds. The kill-and-resume suites share it.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** What killAfterPartial runs and when it kills. */
export interface KillPlan {
  /** `node` arguments: the CLI script and its arguments. */
  readonly argv: readonly string[];
  /** Folder the partial output appears in, and the prefix of its name. */
  readonly dir: string;
  readonly partialPrefix: string;
  /** Milliseconds to wait after the partial appears. */
  readonly delayMs: number;
  /** Then, also wait until this holds (polled like the partial; 20 s at most). */
  readonly until?: () => boolean;
  /** How often to look for the partial (default 5 ms). */
  readonly pollMs?: number;
  /** Called just before the kill (to sample what is on disk then). */
  readonly atKill?: () => void;
  /** The signal (default SIGKILL). */
  readonly signal?: NodeJS.Signals;
  /** Told how the process ended, with its stdout and stderr (kept only when this is given). */
  readonly ended?: (how: {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }) => void;
}

/** Runs the plan; resolves true when the process exited 0 on its own before the kill. */
export async function killAfterPartial(p: KillPlan): Promise<boolean> {
  const kept = p.ended ? 'pipe' : 'ignore';
  const child = spawn(process.execPath, [...p.argv], { stdio: ['ignore', kept, kept] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const started = Date.now();
  const partialExists = () => readdirSync(p.dir).some((n) => n.startsWith(p.partialPrefix));
  while (!partialExists() && Date.now() - started < 20_000 && child.exitCode === null)
    await new Promise((r) => setTimeout(r, p.pollMs ?? 5));
  await new Promise((r) => setTimeout(r, p.delayMs));
  while (p.until && !p.until() && Date.now() - started < 20_000 && child.exitCode === null)
    await new Promise((r) => setTimeout(r, p.pollMs ?? 5));
  p.atKill?.();
  child.kill(p.signal ?? 'SIGKILL');
  const how = await exited;
  p.ended?.({ ...how, stdout, stderr });
  return how.code === 0;
}
