// The install step (scripts/optimise-lzma-native.mjs) compiled lzma-native's liblzma with -O2 and
// that build is the one loaded: the prebuilt binary's liblzma is unoptimised and codes xz about
// half as fast. Fails (never skips) where the compile did not happen, as CI requires.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('lzma-native install', () => {
  it('loads the -O2 build made at install, not the prebuilt binary', () => {
    const dir = dirname(require.resolve('lzma-native/package.json'));
    const loaded = (require('node-gyp-build') as { path(dir: string): string }).path(dir);
    expect(loaded, 'run `npm run postinstall` (needs a C compiler, make and python3)').toBe(
      join(dir, 'build', 'Release', 'lzma_native.node'),
    );
    const stamp = join(dir, 'build', 'ota-build-optimised.json');
    expect(existsSync(stamp), 'the install step records its build').toBe(true);
    const { version, cflags } = JSON.parse(readFileSync(stamp, 'utf8')) as { version: string; cflags: string };
    expect(cflags.split(/\s+/)).toContain('-O2');
    expect(version).toBe((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
