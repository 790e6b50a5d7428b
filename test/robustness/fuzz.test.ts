// The mutation fuzzer (scripts/fuzz.mjs, also `npm run fuzz`) with 2 000 seeded cases: every
// mutated package must be rejected with exit 4, 5 or 6, with no crash, hang or RSS spike; that
// includes deflate-aware and exec-aware blobs mutated and signed again, which only the patchers
// can refuse (or, when the mutated patch still makes exactly the target, apply harmlessly).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

describe('mutation fuzzing', () => {
  it('2 000 mutated packages are all rejected with exit 4/5/6 (7 for a newer minor version)', () => {
    const seed = process.env.OTA_TEST_SEED ?? '20261124';
    const r = spawnSync(
      process.execPath,
      [join(root, 'scripts/fuzz.mjs'), '--cases', '2000', '--seed', seed, '--json'],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(r.error).toBeUndefined();
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(summary.failures, `seed ${seed}: ${JSON.stringify(summary.failures)}`).toEqual([]);
    expect(summary.cases).toBe(2000);
    // A re-signed content-aware blob may be harmless: its patch still makes exactly the target.
    expect(summary.rejected + summary.harmless).toBe(2000);
    expect(summary.harmless).toBeLessThan(20);
    expect(Object.keys(summary.byKind).sort()).toEqual([
      'append',
      'flip',
      'lengthField',
      'resignedBlob',
      'swap',
      'truncateBoundary',
      'truncateRandom',
    ]);
    expect(summary.maxRssGrowthMb).toBeLessThan(256);
    expect(r.status).toBe(0);
  }, 300_000);
});
