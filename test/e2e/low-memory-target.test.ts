// A target whose decoder memory no differ fits: the plan must not join unchanged blocks into
// changed chunks (a DIFF would take them for next to nothing; a REPLACE stores them), so its
// package is no larger than with DIFF not allowed at all, and compare's differ rows agree.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, jsonOf, runCliOk } from '../helpers/run-cli.js';

let work: string;
// The sample pair: edited files shift their neighbours, so the plan has found runs to join.
const pair = {
  oldPath: join(ROOT, 'sample-images', 'system-v1.img'),
  newPath: join(ROOT, 'sample-images', 'system-v2.img'),
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-low-memory-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The generic profile with `changes`, written as a profile file. */
function profile(id: string, changes: Record<string, unknown>): string {
  const generic = jsonOf(runCliOk(['targets', 'generic', '--json'])) as Record<string, unknown>;
  const path = join(work, `${id}.json`);
  writeFileSync(path, JSON.stringify({ ...generic, id, aliases: [], ...changes }));
  return path;
}

describe('a target no differ fits', () => {
  it('gets packages no larger than replace-only ones, from build and from every compare row', () => {
    const lowMemory = profile('lowmem', { decoderMemoryLimitBytes: 1024 * 1024 });
    const inputs = ['--old', pair.oldPath, '--new', pair.newPath, '--target', lowMemory, '--jobs', '2'];
    const entries = jsonOf(
      runCliOk(['compare', ...inputs, '--codecs', 'gzip', '--levels', 'gzip=6', '--differs', 'zstd-dict', '--json']),
    ) as { combination: string; packageBytes: number }[];
    const bytes = Object.fromEntries(entries.map((e) => [e.combination, e.packageBytes]));
    // gzip-6: the replace-only plan (no runs joined), what `build --differ none` makes.
    const replaceOnly = bytes['gzip-6']!;
    expect(bytes['zstd-dict+gzip-6']).toBeLessThanOrEqual(replaceOnly);
    expect(bytes['auto']).toBeLessThanOrEqual(replaceOnly);
    // build with every differ the target allows (none fits) and gzip 6.
    const out = join(work, 'out');
    runCliOk(['build', ...inputs, '-o', out, '--codec', 'gzip', '--level', '6']);
    expect(statSync(join(out, 'update-lowmem.otapkg')).size).toBeLessThanOrEqual(replaceOnly);
  }, 120_000);
});
