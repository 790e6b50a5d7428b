// Test runner settings. Two tiers: `fast` (pure units, format, codecs, differs, parsers, golden
// bytes: the edit loop, about a minute) and `slow` (everything that spawns the CLI, drives real
// tools or a browser, kills processes or fuzzes). A suite is tagged slow by not being listed in
// FAST_SUITES; `npm run test:fast` runs the fast tier, `npm test` runs both.
import { defineConfig } from 'vitest/config';

const ALL_SUITES = ['test/**/*.test.ts', 'src/**/*.test.ts'];

/**
 * The fast tier: no CLI processes, no browsers, no kills; each file runs in seconds. Slow on
 * purpose (and so left out): differ-caps (32 MiB bombs per differ), differ-roundtrip (every
 * differ over every edit shape), caching-encoder (real builds).
 */
const FAST_SUITES = [
  'src/**/*.test.ts',
  'test/unit/**/*.test.ts',
  'test/codecs/**/*.test.ts',
  'test/diff/bsdf2.test.ts',
  'test/diff/bsdiff-lzma.test.ts',
  'test/diff/bzip2-stream.test.ts',
  'test/diff/deflate-aware.test.ts',
  'test/diff/deflate-recipe.test.ts',
  'test/diff/deflate-streams.test.ts',
  'test/diff/exec-aware.test.ts',
  'test/diff/differ-interop.test.ts',
  'test/diff/differ-registry.test.ts',
  'test/diff/zlib-deflate.test.ts',
  'test/sparse/**/*.test.ts',
  'test/release/**/*.test.ts',
  'test/golden.test.ts',
  'test/multi/format-1-1.test.ts',
  'test/compare/block-map.test.ts',
  'test/compare/compare-table.test.ts',
  'test/compare/parse-levels.test.ts',
  'test/compare/svg-chart.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Both cores: suites are files run side by side (vitest's default leaves one core idle here).
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'fast', include: FAST_SUITES } },
      { extends: true, test: { name: 'slow', include: ALL_SUITES, exclude: FAST_SUITES } },
    ],
  },
});
