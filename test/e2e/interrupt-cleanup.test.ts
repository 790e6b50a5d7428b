// An interrupted build or compare (Ctrl-C, SIGTERM) leaves nothing behind: the build's spool,
// staged packages and the output folders it made, compare's temp folder (whose cache can hold
// gigabytes), the encode workers' temp files. The process still ends by the signal, as a shell
// or CI runner expects.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, TEST_KEYS } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

let work: string;
let pair: ImagePair;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-interrupt-'));
  // Large enough that the run is still encoding when the signal comes (seconds with one job).
  pair = writeImagePair(work, 0x1e7, 24 * 1024 * 1024);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Runs the CLI, sends `signal` once `ready()` holds (polled), and resolves with how it ended;
 * `started` tells whether the signal came while it ran (false: it finished first).
 */
async function interrupt(
  args: readonly string[],
  ready: () => boolean,
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; started: boolean; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  const t0 = Date.now();
  while (!ready() && child.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
  const started = child.exitCode === null && ready();
  child.kill(signal);
  const how = await ended;
  return { ...how, started, stderr };
}

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** A one-job delta build of the pair into `out`, with `extra` options. */
const buildArgs = (out: string, ...extra: string[]) => [
  ...['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', out, '--jobs', '1'],
  ...extra,
];

describe('interrupted runs', () => {
  it('build interrupted by Ctrl-C while encoding removes its spool, staged files and the folders it made', async () => {
    const top = join(work, 'out-int');
    const out = join(top, 'nested');
    const r = await interrupt(
      buildArgs(out, '--target', 'generic,qualcomm', '--key', join(TEST_KEYS, 'ed25519.pem')),
      () => entries(out).some((n) => n.startsWith('.ota-build-spool-')),
      'SIGINT',
    );
    expect(r.started, 'the build finished before it could be interrupted').toBe(true);
    expect(r.signal).toBe('SIGINT');
    expect(existsSync(top), entries(out).join(', ')).toBe(false);
    // Says what happened and what to do, as an interrupted apply does.
    expect(r.stderr).toMatch(
      /^ota-build: interrupted: the build did not finish and its temporary files are removed: run the same command again$/m,
    );
  }, 90_000);

  it('build into an existing folder keeps the folder and what was in it', async () => {
    const out = join(work, 'out-existing');
    mkdirSync(out);
    writeFileSync(join(out, 'theirs.txt'), 'keep me');
    const r = await interrupt(
      buildArgs(out, '--target', 'generic'),
      () => entries(out).some((n) => n.startsWith('.ota-build-spool-')),
      'SIGTERM',
    );
    expect(r.started).toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(entries(out)).toEqual(['theirs.txt']);
  }, 90_000);

  it("an interrupt while bsdiff runs on a worker thread removes the worker's temp files too", async () => {
    const tmp = join(work, 'tmp-workers');
    mkdirSync(tmp, { recursive: true });
    const bsdiffRunning = () =>
      entries(tmp).some(
        (n) => n.startsWith('ota-build-workers-') && entries(join(tmp, n)).some((m) => m.startsWith('ota-bsdiff-')),
      );
    const r = await interrupt(
      [
        'compare',
        '--old',
        pair.oldPath,
        '--new',
        pair.newPath,
        '--codecs',
        'none',
        '--differs',
        'bsdiff',
        '--jobs',
        '2',
      ],
      bsdiffRunning,
      'SIGTERM',
      { TMPDIR: tmp },
    );
    expect(r.started, 'bsdiff never ran before compare ended').toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(entries(tmp)).toEqual([]);
  }, 90_000);

  it('compare interrupted by SIGTERM removes its temp folder', async () => {
    const tmp = join(work, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const r = await interrupt(
      ['compare', '--old', pair.oldPath, '--new', pair.newPath, '--codecs', 'xz', '--differs', 'bsdiff', '--jobs', '1'],
      () => entries(tmp).some((n) => n.startsWith('ota-compare-')),
      'SIGTERM',
      { TMPDIR: tmp },
    );
    expect(r.started, 'compare finished before it could be interrupted').toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(entries(tmp)).toEqual([]);
  }, 90_000);
});
