// makeFolders / removeMadeFolders: `mkdir -p` that returns the top-most folder it made, refuses a
// file in the way, ends at once under /proc (where Node 20's recursive mkdir spins forever), and
// an undo that removes only what it made, only while empty.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFolders, removeMadeFolders } from '../../src/image/make-folders.js';

const work = mkdtempSync(join(tmpdir(), 'ota-make-folders-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('makeFolders', () => {
  it('makes the missing folders and returns the top-most; an existing folder gives undefined', async () => {
    const leaf = join(work, 'a', 'b', 'c');
    expect(await makeFolders(leaf)).toBe(join(work, 'a'));
    expect(existsSync(leaf)).toBe(true);
    expect(await makeFolders(leaf)).toBeUndefined();
    expect(await makeFolders(join(work, 'a', 'b', 'd'))).toBe(join(work, 'a', 'b', 'd'));
  });

  it('refuses a file in the way (ENOTDIR) and ends at once where the file system refuses folders', async () => {
    writeFileSync(join(work, 'file'), 'x');
    await expect(makeFolders(join(work, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeFolders('/proc/ota-build-test/x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removeMadeFolders removes the path up to what was made, stopping at a folder that holds something', async () => {
    const made = (await makeFolders(join(work, 'r', 's', 't')))!;
    await removeMadeFolders(join(work, 'r', 's', 't'), made);
    expect(existsSync(join(work, 'r'))).toBe(false);
    expect(existsSync(work)).toBe(true);

    const again = (await makeFolders(join(work, 'k', 'l')))!;
    mkdirSync(join(work, 'k', 'other'));
    await removeMadeFolders(join(work, 'k', 'l'), again);
    expect(existsSync(join(work, 'k', 'l'))).toBe(false);
    expect(existsSync(join(work, 'k', 'other'))).toBe(true);
  });
});
