// Runs real command-line tools (zstd, xz, gzip, bspatch, bsdiff) for interop tests. A missing
// tool is a test FAILURE with an install hint, never a skip: the interop claims need the tools.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Result of a tool run. */
export interface ToolRun {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs `tool args…` (optionally with stdin); throws if the tool is not installed. */
export function runTool(tool: string, args: readonly string[], input?: Uint8Array): ToolRun {
  const result = spawnSync(tool, args, { input, maxBuffer: 512 * 1024 * 1024 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot run ${tool} (${code ?? result.error.message}): install it (Debian: apt-get install ${packageOf(tool)})`,
    );
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** Runs the tool and throws unless it exits 0; returns its stdout. */
export function runToolOk(tool: string, args: readonly string[], input?: Uint8Array): Buffer {
  const run = runTool(tool, args, input);
  if (run.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${String(run.status)}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** Makes a temp dir for one test and returns it with its cleanup. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ota-interop-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function packageOf(tool: string): string {
  if (tool === 'xz') return 'xz-utils';
  if (tool === 'bspatch' || tool === 'bsdiff') return 'bsdiff';
  return tool;
}
