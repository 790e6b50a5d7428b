// exec-aware's label table end to end: an x86-64 update whose called functions moved outside the
// changed chunk gets patches with a table, so the package says format 1.5 (through the encode
// workers too) and applies exactly; a target whose appliers read 1.4 at most gets a 1.4-or-older
// package of the same image instead (its exec-aware patches, if any, without the table).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages } from '../../src/index.js';
import { HEADER_FIELD } from '../helpers/package-bytes.js';
import { x86CallCode } from '../codecs/sample-data.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-exec-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IMAGE_BYTES = 2 * 1024 * 1024;
const CODE_AT = 1024 * 1024;

function imageWith(code: Buffer): Buffer {
  const img = Buffer.alloc(IMAGE_BYTES);
  code.copy(img, CODE_AT);
  return img;
}

describe('exec-aware label tables in a package', () => {
  const oldPath = join(dir, 'old.img');
  const newPath = join(dir, 'new.img');
  // The "functions" lie 64-76 KiB before the code, in zeros no cover holds; the new build moved them.
  writeFileSync(oldPath, imageWith(x86CallCode(5, 120_000)));
  writeFileSync(newPath, imageWith(x86CallCode(5, 120_000, 60_000, 53, 0x2000)));
  const generic = JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

  const build = async (name: string, targets: string, jobs: number) => {
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(dir, name),
      targets,
      jobs,
      timestampSeconds: 1,
    });
    return built.packages[0]!.path;
  };
  /** Applies as a device of the built-in target id or with the profile file at `target`. */
  const applied = async (pkg: string, name: string, target: string) => {
    const outputPath = join(dir, `${name}.img`);
    const device = target.endsWith('.json') ? { deviceProfilePath: target } : { deviceTarget: target };
    await applyPackage({ packagePath: pkg, oldPath, outputPath, ...device });
    return readFileSync(outputPath).equals(readFileSync(newPath));
  };

  it('is format 1.5 with one or two jobs, the same bytes, and applies exactly', async () => {
    const one = await build('one', 'generic', 1);
    const two = await build('two', 'generic', 2);
    expect(readFileSync(two)[HEADER_FIELD.formatMinor]).toBe(5);
    expect(readFileSync(one).equals(readFileSync(two))).toBe(true);
    expect(await applied(two, 'two', 'generic')).toBe(true);
  });

  it('stays within a target that reads format 1.4 at most, and is larger there', async () => {
    const profile = join(dir, 'old-readers.json');
    writeFileSync(profile, JSON.stringify({ ...generic, id: 'old-readers', maxFormatMinor: 4 }));
    const limited = await build('limited', profile, 2);
    expect(readFileSync(limited)[HEADER_FIELD.formatMinor]).toBeLessThanOrEqual(4);
    expect(await applied(limited, 'limited', profile)).toBe(true);
    expect(readFileSync(limited).length).toBeGreaterThan(readFileSync(await build('full', 'generic', 2)).length);
  });
});
