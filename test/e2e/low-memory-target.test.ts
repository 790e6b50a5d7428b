// A target whose decoder memory no differ fits: the plan must not join unchanged blocks into
// changed chunks (a DIFF would take them for next to nothing; a REPLACE stores them), so its
// package is no larger than with DIFF not allowed at all, and compare's differ rows agree.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function packageBytes(target: string, out: string): number {
  runCliOk(['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', out, '--target', target, '--jobs', '1']);
  const id = JSON.parse(readFileSync(target, 'utf8')).id as string;
  return statSync(join(out, `update-${id}.otapkg`)).size;
}

describe('a target no differ fits', () => {
  it('gets a package no larger than with DIFF not allowed, and compare shows no differ row above its fallback', () => {
    const lowMemory = profile('lowmem', { decoderMemoryLimitBytes: 1024 * 1024 });
    const noDiff = profile('nodiff', {
      decoderMemoryLimitBytes: 1024 * 1024,
      allowedOperations: ['zero', 'copy', 'replace'],
    });
    const low = packageBytes(lowMemory, join(work, 'out-low'));
    const plain = packageBytes(noDiff, join(work, 'out-nodiff'));
    expect(low).toBeLessThanOrEqual(plain);

    const entries = jsonOf(
      runCliOk([
        'compare',
        '--old',
        pair.oldPath,
        '--new',
        pair.newPath,
        '--target',
        lowMemory,
        '--codecs',
        'gzip',
        '--levels',
        'gzip=6',
        '--differs',
        'zstd-dict',
        '--jobs',
        '1',
        '--json',
      ]),
    ) as { combination: string; packageBytes: number }[];
    const bytes = Object.fromEntries(entries.map((e) => [e.combination, e.packageBytes]));
    expect(bytes['zstd-dict+gzip-6']).toBeLessThanOrEqual(bytes['gzip-6']!);
  }, 120_000);
});
