// The install step (scripts/optimise-lzma-native.mjs) compiled lzma-native's liblzma with -O2 and
// that build is the one loaded: the prebuilt binary's liblzma is unoptimised and codes xz about
// half as fast. Fails (never skips) on Linux where the compile did not happen, as CI requires;
// on Windows, where lzma-native links a prebuilt liblzma DLL, the step does nothing.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe.runIf(process.platform !== 'win32')('lzma-native install', () => {
  it('loads the build made at install, whose liblzma was compiled at -O2', () => {
    const dir = dirname(require.resolve('lzma-native/package.json'));
    const loaded = (require('node-gyp-build') as { path(dir: string): string }).path(dir);
    expect(loaded, 'run `node scripts/optimise-lzma-native.mjs` (needs a C compiler, make and python3)').toBe(
      join(dir, 'build', 'Release', 'lzma_native.node'),
    );
    const stamp = join(dir, 'build', 'ota-build-optimised.json');
    expect(existsSync(stamp), 'the install step records its build').toBe(true);
    const { version } = JSON.parse(readFileSync(stamp, 'utf8')) as { version: string };
    expect(version).toBe((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version);
    // What liblzma was really compiled with: the last -O in its configured CFLAGS wins.
    const makefile = readFileSync(join(dir, 'build', 'liblzma', 'Makefile'), 'utf8');
    const cflags = /^CFLAGS = (.*)$/m.exec(makefile)?.[1] ?? '';
    expect(cflags.match(/-O\S*/g)?.at(-1), `liblzma CFLAGS: ${cflags}`).toBe('-O2');
  });
});
