// The committed sample releases (sample-images/releases/) are exactly what the generators make
// today. Re-bless deliberately: BLESS_SAMPLES=1 npx vitest run test/release/sample-releases.test.ts

import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { openMediatekRelease } from '../../src/release/mediatek-scatter.js';
import { openQualcommRelease } from '../../src/release/qualcomm-rawprogram.js';
import { openUnisocPac } from '../../src/release/unisoc-pac.js';
import { SAMPLE_RELEASES_DIR, makeSampleReleases } from '../release-fixtures/make-sample-releases.js';
import { scratch } from './release-test-kit.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const committed = join(repo, SAMPLE_RELEASES_DIR);
const tmp = scratch('ota-samples-');
afterAll(() => tmp.cleanup());

/** Every file under `dir` (relative paths, sorted), README excluded. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== 'README.md') out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('committed sample releases equal a fresh generation (BLESS_SAMPLES=1 rewrites them)', async () => {
  if (process.env.BLESS_SAMPLES === '1') {
    for (const vendor of ['qualcomm', 'mediatek', 'unisoc'])
      rmSync(join(committed, vendor), { recursive: true, force: true });
    await makeSampleReleases(committed);
  }
  await makeSampleReleases(tmp.dir);
  const fresh = listFiles(tmp.dir);
  expect(listFiles(committed)).toEqual(fresh);
  for (const file of fresh)
    expect(
      readFileSync(join(committed, file)).equals(readFileSync(join(tmp.dir, file))),
      `${file} differs; re-bless deliberately`,
    ).toBe(true);
});

test('each sample release opens with its reader and stays small', async () => {
  for (const v of ['v1', 'v2']) {
    for (const [vendor, open] of [
      ['qualcomm', openQualcommRelease],
      ['mediatek', openMediatekRelease],
      ['unisoc', openUnisocPac],
    ] as const) {
      const dir = join(committed, vendor, v);
      const path =
        vendor === 'unisoc'
          ? join(
              dir,
              readdirSync(dir).find((n) => n.endsWith('.pac'))!,
            )
          : dir;
      const release = await open(path);
      expect(release.partitions.filter((p) => p.upgradable).length, `${vendor} ${v}`).toBeGreaterThan(4);
      const bytes = listFiles(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
      expect(bytes, `${vendor} ${v} is ${bytes} bytes`).toBeLessThan(1.5 * 1024 * 1024);
      await release.close();
    }
  }
});
