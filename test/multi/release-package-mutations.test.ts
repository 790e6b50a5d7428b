// A release (multi-partition) package with damaged metadata that is still correctly signed: byte
// flips in the target header (partition layouts) and manifest, re-signed so they reach the
// decoders, must end in a typed one-line OtaError (exit 4, 5 or 7) or a package that still
// checks out — never a crash. Seeded; the seed is in every message (OTA_TEST_SEED replays).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError, verifyPackage } from '../../src/index.js';
import { resign, sectionNamed } from '../helpers/package-bytes.js';
import { ROOT, TEST_KEYS, jsonOf, runCliOk } from '../helpers/run-cli.js';
import { seededRng, suiteSeed } from '../helpers/seeded-random.js';

const SEED = suiteSeed(0x5e1ea5e);
let work: string;
let pkg: Buffer;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-release-mutations-'));
  const samples = join(ROOT, 'sample-images', 'releases', 'mediatek');
  const built = jsonOf(
    runCliOk([
      'build',
      '--old',
      join(samples, 'v1'),
      '--new',
      join(samples, 'v2'),
      '-o',
      work,
      '--target',
      'generic',
      '--json',
    ]),
  );
  pkg = readFileSync(built.packages[0].path);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('re-signed release packages with flipped metadata bytes', () => {
  it.each(['targetHeader', 'manifest'] as const)(
    '%s: every flip is refused with a typed error or still verifies',
    async (name) => {
      const rng = seededRng(SEED ^ (name === 'manifest' ? 1 : 0));
      const sec = sectionNamed(pkg, name);
      const key = readFileSync(join(TEST_KEYS, 'ed25519.pem'), 'utf8');
      const problems: string[] = [];
      const codes = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const at = sec.offsetBytes + rng.int(0, sec.sizeBytes - 1);
        const bytes = Buffer.from(pkg);
        bytes[at] = bytes[at]! ^ rng.int(1, 255);
        const path = join(work, `m-${name}-${i}.otapkg`);
        writeFileSync(path, resign(bytes, key));
        try {
          await verifyPackage({ packagePath: path });
        } catch (err) {
          if (!(err instanceof OtaError))
            problems.push(`[seed ${SEED}] flip at ${at}: not an OtaError: ${String(err)}`);
          else if (![4, 5, 7].includes(err.exitCode) || err.message.includes('\n'))
            problems.push(`[seed ${SEED}] flip at ${at}: exit ${err.exitCode} ${err.code}: ${err.message}`);
          else codes.add(err.code);
        }
        rmSync(path);
      }
      expect(problems).toEqual([]);
      // The flips reached the decoders (not only the signature check).
      expect(
        [...codes].some((c) => c.startsWith('PKG_')),
        `[seed ${SEED}] codes ${[...codes].join(',')}`,
      ).toBe(true);
    },
  );
});
